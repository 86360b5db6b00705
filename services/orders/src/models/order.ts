import { AggregateStore, type Head } from '@ticketing/common';
import { type Connection, type Model, Schema } from 'mongoose';

/** Order status (DESIGN.md: `created` → `complete` | `cancelled`). */
export type OrderStatus = 'created' | 'cancelled' | 'complete';

/** A final status: the one transition an order makes, from version 0 to version 1. */
export type OrderOutcomeStatus = Exclude<OrderStatus, 'created'>;

/** The ticket as the order saw it when it was placed. */
export interface OrderTicket {
  /** The ticket's id (24 hex). */
  id: string;
  /** Title at the time of the order. */
  title: string;
  /** Price at the time of the order: what the buyer pays. */
  price: number;
}

/** An order's state: a user's hold on one ticket until it is paid or expires. */
export interface OrderState {
  /** The buyer. */
  userId: string;
  /** Where the order is in its life cycle. */
  status: OrderStatus;
  /** When the hold ends unless paid. */
  expiresAt: Date;
  /** The reserved ticket, copied from the replica when the order was placed. */
  ticket: OrderTicket;
  /**
   * Set only on a placeholder: version 0 of the id of an order whose placement died between its claim and
   * its order, taken by the buyer who took the ticket over, so that placement can never complete later
   * (see lifecycle.ts). Placeholders are never shown or acted on.
   */
  abandoned?: true;
}

/** An order as read back from its head document. */
export type OrderHead = Head<OrderState>;

/** The order store: heads in `orders`, every version (claim + events) in `orders_changes`. */
export type OrderStore = AggregateStore<OrderState>;

/** The order as the HTTP API returns it. */
export interface OrderResponse {
  /** Order id (24 hex). */
  id: string;
  /** The buyer. */
  userId: string;
  /** Life-cycle status. */
  status: OrderStatus;
  /** End of the hold, ISO 8601. */
  expiresAt: string;
  /** 0 when placed, 1 once settled. */
  version: number;
  /** The ticket as ordered. */
  ticket: OrderTicket;
}

const orderTicketSchema = new Schema<OrderTicket>(
  {
    id: { type: String, required: true },
    title: { type: String },
    price: { type: Number, required: true },
  },
  { _id: false },
);

// `_id` stays an ObjectId: the ids are made here at placement, so sorting by `_id` lists orders oldest first.
const orderSchema = new Schema<OrderState & { version: number }>({
  userId: { type: String, index: true },
  status: { type: String, required: true, enum: ['created', 'cancelled', 'complete'] },
  expiresAt: { type: Date, required: true },
  ticket: { type: orderTicketSchema, required: true },
  version: { type: Number, required: true },
  abandoned: { type: Boolean },
});

/** Registers the order head model on `connection` and returns its store. */
export function orderStore(connection: Connection): OrderStore {
  const model =
    (connection.models.Order as Model<OrderState & { version: number }> | undefined) ??
    connection.model<OrderState & { version: number }>('Order', orderSchema);
  return new AggregateStore<OrderState>(model);
}

/**
 * The state a placeholder takes: cancelled and abandoned, so nothing settles it and no query shows it. It
 * names the ticket whose claim it voids, for whoever investigates.
 */
export function placeholderOrder(ticketId: string): OrderState {
  return {
    userId: '',
    status: 'cancelled',
    expiresAt: new Date(),
    ticket: { id: ticketId, title: '', price: 0 },
    abandoned: true,
  };
}

/** The filter that leaves placeholders out: add it to every query that looks for real orders. */
export const LIVE_ORDER = { abandoned: { $ne: true } } as const;

/** The real order with this id as its head shows it, or null (unknown id or placeholder). */
export async function findLiveOrder(orders: OrderStore, id: string): Promise<OrderHead | null> {
  const order = await orders.get(id);
  return order && !order.abandoned ? order : null;
}

/**
 * Event id of an order's event at `version`. Only the winner of a version writes its events, so this is
 * defence in depth: whatever happens, JetStream keeps one message per (order, version) by `Nats-Msg-Id`.
 */
export function orderEventId(orderId: string, version: number): string {
  return `order-${orderId}-v${version}`;
}

/** The API shape of an order. */
export function orderResponse(order: OrderHead): OrderResponse {
  return {
    id: String(order._id),
    userId: order.userId,
    status: order.status,
    expiresAt: new Date(order.expiresAt).toISOString(),
    version: order.version,
    ticket: { id: order.ticket.id, title: order.ticket.title, price: order.ticket.price },
  };
}
