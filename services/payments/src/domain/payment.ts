import type { AggregateStore, Versioned } from '@ticketing/common';

/** Order status as the orders service reports it. */
export type OrderStatus = 'created' | 'cancelled' | 'complete';

/** What payments knows of an order: enough to decide whether it may be paid, and how much. */
export interface OrderCopy {
  userId: string;
  /** What the buyer agreed to pay, in major units, from order.created. */
  price: number;
  status: OrderStatus;
}

export type OrderCopyStore = AggregateStore<OrderCopy>;

/** `paid`: charged, `payment.created` emitted (version 0); `refunded`: the order was cancelled meanwhile (version 1). */
export type PaymentStatus = 'paid' | 'refunded';

/** A payment: the record that an order's charge happened, and its refund if any. */
export interface PaymentState {
  orderId: string;
  userId: string;
  /** What was charged, in cents. */
  amountCents: number;
  currency: 'usd';
  status: PaymentStatus;
  chargeId: string;
  refundId?: string;
  paidAt: Date;
  refundedAt?: Date;
}

export type Payment = Versioned<PaymentState>;

/** The payments: this service's own aggregate, published on the PAYMENTS stream. */
export type PaymentStore = AggregateStore<PaymentState>;

/** Why an order cannot be paid now, or undefined when it can. */
export function paymentRefusal(order: OrderCopy): 'cancelled' | 'paid' | undefined {
  if (order.status === 'cancelled') return 'cancelled';
  if (order.status === 'complete') return 'paid';
  return undefined;
}
