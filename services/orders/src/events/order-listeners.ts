import {
  type Bus,
  type EventData,
  Listener,
  type ListenerOptions,
  PoisonMessageError,
} from '@ticketing/common';
import { changeAt } from '../models/changes';
import type { OrderLifecycle } from '../models/lifecycle';
import { findLiveOrder, type OrderHead, type OrderStore } from '../models/order';

/** An order whose version 0 is committed but whose head is not written yet; the event is retried. */
export class OrderNotVisibleError extends Error {
  override readonly name = 'OrderNotVisibleError';
  /** Stable code for logs. */
  readonly code = 'ORDER_NOT_VISIBLE';
}

/**
 * The order an event is about. Every such event follows an order.created this service wrote, so an id
 * without an order can never succeed (dead letter). But the relay may publish order.created before the
 * order's head exists (its writer is a few milliseconds behind, or died and the head is rolled forward
 * later), so an order that is committed without a head is retried, not dead-lettered.
 */
async function orderFor(orders: OrderStore, orderId: string, subject: string): Promise<OrderHead> {
  const order = await findLiveOrder(orders, orderId);
  if (order) return order;
  const placed = await changeAt(orders, orderId, 0);
  if (!placed || placed.state.abandoned)
    throw new PoisonMessageError(`${subject} for unknown order ${orderId}`);
  if (await orders.repairHead(orderId, 0)) {
    const repaired = await findLiveOrder(orders, orderId);
    if (repaired) return repaired;
  }
  throw new OrderNotVisibleError(`order ${orderId} is committed but its head is not written yet`);
}

/**
 * Cancels an order whose reservation window ended, unless it was paid first (then nothing happens). The event's
 * version is not consulted: the order's own state decides, and a repeat finds the order already cancelled.
 */
export class ExpirationCompleteListener extends Listener<'expiration.complete'> {
  readonly subject = 'expiration.complete' as const;

  constructor(
    bus: Bus,
    options: ListenerOptions,
    private readonly orders: OrderStore,
    private readonly lifecycle: OrderLifecycle,
  ) {
    super(bus, options);
  }

  /** Settles the order as cancelled, or leaves its earlier outcome. */
  async onMessage(data: EventData<'expiration.complete'>): Promise<void> {
    const order = await orderFor(this.orders, data.orderId, this.subject);
    await this.lifecycle.settle(order, 'cancelled');
  }
}

/**
 * Completes a paid order. A payment that lands on an order cancelled meanwhile leaves it cancelled: payments
 * sees the order.cancelled and refunds (DESIGN.md rule 3).
 */
export class PaymentCreatedListener extends Listener<'payment.created'> {
  readonly subject = 'payment.created' as const;

  constructor(
    bus: Bus,
    options: ListenerOptions,
    private readonly orders: OrderStore,
    private readonly lifecycle: OrderLifecycle,
  ) {
    super(bus, options);
  }

  /** Settles the order as complete, or leaves its earlier outcome. */
  async onMessage(data: EventData<'payment.created'>): Promise<void> {
    const order = await orderFor(this.orders, data.orderId, this.subject);
    await this.lifecycle.settle(order, 'complete');
  }
}
