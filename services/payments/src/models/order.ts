import { AggregateStore } from '@ticketing/common';
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

/** Order status as the orders service reports it. */
export type OrderStatus = 'created' | 'cancelled' | 'complete';

/** What payments knows of an order: enough to decide whether it may be paid, and how much. */
export interface OrderState {
  /** The buyer. */
  userId: string;
  /** Ticket price in major units, from `order.created`. */
  price: number;
  status: OrderStatus;
}

/** The replica's head document: the order's state at the last version applied here (`_id` = order id). */
export type OrderReplica = OrderState & { _id: string; version: number };

const orderSchema = new Schema<OrderReplica>(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    price: { type: Number, required: true },
    status: { type: String, required: true, enum: ['created', 'cancelled', 'complete'] },
    version: { type: Number, required: true },
  },
  { versionKey: false },
);

/** The order replica: heads in `orders`, applied versions in `orders_changes`. */
export function orderStore(connection: Connection): AggregateStore<OrderState> {
  const model =
    (connection.models.Order as Model<OrderReplica> | undefined) ??
    connection.model<OrderReplica>('Order', orderSchema);
  // The store types heads by their state; our heads add a string `_id` (the aggregate id), which it keeps as is.
  return new AggregateStore<OrderState>(model as unknown as Model<OrderState & { version: number }>);
}
