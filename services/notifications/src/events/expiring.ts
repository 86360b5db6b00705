import { DueScheduler, type Logger } from '@ticketing/common';
import type { ExpiringNotice, ExpiringStore, OrderReplicaStore } from '../domain/replicas';
import type { Notify } from './fan-out';

/**
 * `order.expiring`: a configurable time before an unpaid order expires, its buyer's endpoints hear of it. The
 * catalog has no such event; the service schedules it itself from `order.created`, on the common DueScheduler.
 */
export function expiringScheduler(
  expiring: ExpiringStore,
  orders: OrderReplicaStore,
  notify: Notify,
  options: { pollMs: number; logger: Logger },
): DueScheduler<ExpiringNotice> {
  return new DueScheduler<ExpiringNotice>({
    store: expiring,
    waiting: { status: 'waiting' },
    dueAt: (notice) => notice.notifyAt.getTime(),
    fire: async (notice) => {
      const order = await orders.get(notice.orderId);
      const unpaid = order?.status === 'created';
      if (unpaid) {
        // Before the notice is marked sent: a crash in between sends it (once: the fan-out is idempotent).
        await notify({
          userId: notice.userId,
          type: 'order.expiring',
          cause: notice.orderId,
          occurredAt: notice.notifyAt,
          sequence: 0,
          data: {
            orderId: notice.orderId,
            ticketId: notice.ticketId,
            expiresAt: notice.expiresAt.toISOString(),
          },
        });
      }
      await expiring.decide(
        notice._id,
        (current) =>
          current?.status === 'waiting'
            ? { state: { ...current, status: unpaid ? 'sent' : 'skipped' } }
            : undefined,
        { current: notice },
      );
    },
    pollMs: options.pollMs,
    logger: options.logger,
    name: 'order.expiring notices',
  });
}
