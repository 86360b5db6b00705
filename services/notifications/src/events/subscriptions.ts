import { type AnySubscription, dueSlotOf, on } from '@ticketing/common';
import type { ExpiringStore, OrderReplicaStore, TicketReplicaStore } from '../domain/replicas';
import type { Notify } from './fan-out';

export interface SubscriptionStores {
  tickets: TicketReplicaStore;
  orders: OrderReplicaStore;
  expiring: ExpiringStore;
}

/**
 * The notifications service's subscription table. Tickets and orders are kept as replicas (each version once,
 * in order), and a version's webhooks are created as its `effect`: before the version is recorded, so a crash
 * in between redoes the fan-out (which is idempotent) rather than losing it.
 */
export function notificationSubscriptions(
  stores: SubscriptionStores,
  notify: Notify,
  options: { expiringLeadMs: number; expiringScheduled: (id: string) => void },
): AnySubscription[] {
  const { tickets, orders, expiring } = stores;
  // One user's events one after another (in stream order) on an instance: their deliveries are created in the
  // order the events happened, which is the order an endpoint gets them in.
  const byUser = { key: (data: { userId: string }) => data.userId };
  return [
    on('ticket.created', (data) => tickets.apply(data, () => ({ state: { userId: data.userId } }))),
    on(
      'ticket.updated',
      (data, meta) =>
        tickets.apply(data, () => ({ state: { userId: data.userId, orderId: data.orderId } }), {
          effect: async (before) => {
            const ticket = { ticketId: data.id, title: data.title, price: data.price };
            if (before && !before.orderId && data.orderId) {
              const reserved = { ...ticket, orderId: data.orderId };
              await notify({
                userId: data.userId,
                type: 'ticket.reserved',
                cause: meta.id,
                occurredAt: meta.occurredAt,
                sequence: meta.streamSequence,
                data: reserved,
              });
            }
            if (before?.orderId && !data.orderId) {
              await notify({
                userId: data.userId,
                type: 'ticket.relisted',
                cause: meta.id,
                occurredAt: meta.occurredAt,
                sequence: meta.streamSequence,
                data: ticket,
              });
            }
          },
        }),
      byUser,
    ),
    on(
      'order.created',
      async (data, meta) => {
        const expiresAt = new Date(data.expiresAt);
        await orders.apply(
          data,
          () => ({ state: { userId: data.userId, ticketId: data.ticket.id, status: 'created', expiresAt } }),
          {
            effect: () =>
              notify({
                userId: data.userId,
                type: 'order.created',
                cause: meta.id,
                occurredAt: meta.occurredAt,
                sequence: meta.streamSequence,
                data: {
                  orderId: data.id,
                  ticketId: data.ticket.id,
                  status: data.status,
                  expiresAt: data.expiresAt,
                },
              }),
          },
        );
        const notifyAt = new Date(expiresAt.getTime() - options.expiringLeadMs);
        await expiring.createOnce(data.id, {
          userId: data.userId,
          orderId: data.id,
          ticketId: data.ticket.id,
          expiresAt,
          notifyAt,
          dueSlot: dueSlotOf(notifyAt),
          status: 'waiting',
        });
        options.expiringScheduled(data.id);
      },
      byUser,
    ),
    on('order.cancelled', (data, meta) =>
      orders.apply(data, (order) => (order ? { state: { ...order, status: 'cancelled' } } : undefined), {
        effect: async (order) => {
          if (!order) return;
          const cancelled = {
            orderId: data.id,
            ticketId: data.ticket.id,
            status: 'cancelled',
            reason: data.reason,
          };
          await notify({
            userId: order.userId,
            type: 'order.cancelled',
            cause: meta.id,
            occurredAt: meta.occurredAt,
            sequence: meta.streamSequence,
            data: cancelled,
          });
        },
      }),
    ),
    on('order.completed', (data, meta) =>
      orders.apply(data, (order) => (order ? { state: { ...order, status: 'complete' } } : undefined), {
        effect: async (order) => {
          if (!order) return;
          const sold = { orderId: data.id, ticketId: data.ticket.id };
          await notify({
            userId: order.userId,
            type: 'order.completed',
            cause: meta.id,
            occurredAt: meta.occurredAt,
            sequence: meta.streamSequence,
            data: { ...sold, status: 'complete' },
          });
          const ticket = await tickets.get(data.ticket.id);
          // The seller is known from the ticket's events, which come on another consumer: wait for them.
          if (!ticket) throw new Error(`ticket ${data.ticket.id} not known yet`);
          await notify({
            userId: ticket.userId,
            type: 'ticket.sold',
            cause: meta.id,
            occurredAt: meta.occurredAt,
            sequence: meta.streamSequence,
            data: sold,
          });
        },
      }),
    ),
  ];
}
