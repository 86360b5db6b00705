import type { AggregateStore, Decision, EventInput, Versioned } from '@ticketing/common';

/** Order status: `created` → `complete` | `cancelled`. */
export type OrderStatus = 'created' | 'cancelled' | 'complete';

/** Why an order was cancelled. */
export type CancelReason = 'expired' | 'buyer_cancelled' | 'price_changed';

/** How an order ends: the one transition it makes, from version 0 to version 1. */
export type Outcome = { status: 'complete' } | { status: 'cancelled'; reason: CancelReason };

/** The ticket as the order saw it when it was placed. */
export interface OrderTicket {
  id: string;
  title: string;
  /** What the buyer pays, in major units: the price of ticket version `version`. */
  price: number;
  /** The ticket version the price was read from (absent on orders placed before versions were kept). */
  version?: number;
}

/** An order: a user's hold on one ticket until it is paid, cancelled or expires. */
export interface OrderState {
  userId: string;
  status: OrderStatus;
  /** When the hold ends unless paid. */
  expiresAt: Date;
  ticket: OrderTicket;
  cancelReason?: CancelReason;
  /**
   * Set only on a placeholder: version 0 of the id of an order whose placement died between its claim and its
   * order, taken by the buyer who took the ticket over, so that placement can never complete later.
   */
  abandoned?: true;
}

export type Order = Versioned<OrderState>;

/** The orders: this service's own aggregate, published on the ORDERS stream. */
export type OrderStore = AggregateStore<OrderState>;

/** A new order of `ticket` by `userId`, holding it for `expiresInSeconds`. */
export function newOrder(
  userId: string,
  ticket: OrderTicket,
  now: number,
  expiresInSeconds: number,
): OrderState {
  return { userId, status: 'created', expiresAt: new Date(now + expiresInSeconds * 1000), ticket };
}

/** The order.created of a new order (the store stamps version 0). */
export function orderCreated(id: string, order: OrderState): EventInput {
  const { id: ticketId, price, version } = order.ticket;
  return {
    subject: 'order.created',
    data: {
      id,
      userId: order.userId,
      status: order.status,
      expiresAt: order.expiresAt.toISOString(),
      ticket: version === undefined ? { id: ticketId, price } : { id: ticketId, price, version },
    },
  };
}

/**
 * The decision that ends an order, or undefined when it has ended already (then its status stands: a payment
 * that lost to an expiry, or the reverse). Exactly one of order.completed / order.cancelled is ever written.
 */
export function settle(order: Order, outcome: Outcome): Decision<OrderState> | undefined {
  if (order.status !== 'created' || order.abandoned) return undefined;
  const ticket = { id: order.ticket.id };
  if (outcome.status === 'complete') {
    return {
      state: { ...order, status: 'complete' },
      events: [{ subject: 'order.completed', data: { id: order._id, ticket } }],
    };
  }
  return {
    state: { ...order, status: 'cancelled', cancelReason: outcome.reason },
    events: [{ subject: 'order.cancelled', data: { id: order._id, ticket, reason: outcome.reason } }],
  };
}

/** The state a placeholder takes: cancelled and abandoned, so nothing settles it and no query shows it. */
export function placeholderOrder(ticketId: string): OrderState {
  return {
    userId: '',
    status: 'cancelled',
    expiresAt: new Date(0),
    ticket: { id: ticketId, title: '', price: 0 },
    abandoned: true,
  };
}

/** The order as the HTTP API returns it. */
export interface OrderView {
  id: string;
  userId: string;
  status: OrderStatus;
  /** End of the hold, ISO 8601. */
  expiresAt: string;
  /** 0 when placed, 1 once settled. */
  version: number;
  ticket: { id: string; title: string; price: number };
  cancelReason?: CancelReason;
}

export function orderView(order: Order): OrderView {
  const view: OrderView = {
    id: order._id,
    userId: order.userId,
    status: order.status,
    expiresAt: new Date(order.expiresAt).toISOString(),
    version: order.version,
    ticket: { id: order.ticket.id, title: order.ticket.title, price: order.ticket.price },
  };
  if (order.cancelReason) view.cancelReason = order.cancelReason;
  return view;
}
