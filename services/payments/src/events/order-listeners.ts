import {
  type AggregateStore,
  type ApplyOutcome,
  type Bus,
  type EventData,
  Listener,
  type ListenerOptions,
  OutOfOrderError,
} from '@ticketing/common';
import type { OrderState, OrderStatus } from '../models/order';
import { type RefundDeps, refundPaymentOfOrder } from './refund-payment';

/**
 * Applies a status change (version `version`) to the replica. The event carries only the status, so the rest of
 * the state comes from the head it applies on top of; with no head yet, the order's creation is still coming.
 */
export async function applyOrderStatus(
  orders: AggregateStore<OrderState>,
  id: string,
  version: number,
  status: OrderStatus,
): Promise<ApplyOutcome> {
  let head = await orders.get(id);
  if (!head && (await orders.repairHead(id, version - 1))) head = await orders.get(id);
  if (!head) throw new OutOfOrderError(undefined, version);
  if (head.version >= version) return 'duplicate';
  return orders.applyVersion(id, version, { userId: head.userId, price: head.price, status });
}

/** Adds an order to the replica (version 0), with the buyer and the price to charge. */
export class OrderCreatedListener extends Listener<'order.created'> {
  readonly subject = 'order.created' as const;

  constructor(
    bus: Bus,
    options: ListenerOptions,
    private readonly orders: AggregateStore<OrderState>,
  ) {
    super(bus, options);
  }

  async onMessage(data: EventData<'order.created'>): Promise<void> {
    await this.orders.applyVersion(data.id, data.version, {
      userId: data.userId,
      price: data.ticket.price,
      status: data.status,
    });
  }
}

/**
 * Marks the order cancelled (held back until its earlier versions are applied), then refunds a payment that
 * raced the cancellation. The refund check runs on every delivery, not only when the status changed, so a crash
 * between the two steps is repaired by the redelivery.
 */
export class OrderCancelledListener extends Listener<'order.cancelled'> {
  readonly subject = 'order.cancelled' as const;

  constructor(
    bus: Bus,
    options: ListenerOptions,
    private readonly deps: RefundDeps & { orders: AggregateStore<OrderState> },
  ) {
    super(bus, options);
  }

  async onMessage(data: EventData<'order.cancelled'>): Promise<void> {
    await applyOrderStatus(this.deps.orders, data.id, data.version, 'cancelled');
    const outcome = await refundPaymentOfOrder(this.deps, data.id);
    if (outcome === 'refunded') this.logger.info({ orderId: data.id }, 'payment of cancelled order refunded');
  }
}

/** Marks the order complete (paid and confirmed by the orders service). */
export class OrderCompletedListener extends Listener<'order.completed'> {
  readonly subject = 'order.completed' as const;

  constructor(
    bus: Bus,
    options: ListenerOptions,
    private readonly orders: AggregateStore<OrderState>,
  ) {
    super(bus, options);
  }

  async onMessage(data: EventData<'order.completed'>): Promise<void> {
    await applyOrderStatus(this.orders, data.id, data.version, 'complete');
  }
}
