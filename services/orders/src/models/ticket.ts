import { AggregateStore } from '@ticketing/common';
import { type Connection, type Model, Schema } from 'mongoose';

/**
 * The orders service's copy of a ticket, fed by ticket.created / ticket.updated in version order. It holds no
 * reservation state: orders itself is the authority on reservations (see reservation.ts).
 */
export interface TicketReplica {
  /** The ticket's title, shown inside orders. */
  title: string;
  /** The ticket's price in major units, copied into each order. */
  price: number;
}

/** The replica store: each applied ticket version is one change, so a version is applied once. */
export type TicketStore = AggregateStore<TicketReplica>;

const ticketSchema = new Schema<TicketReplica & { version: number }>({
  title: { type: String, required: true },
  price: { type: Number, required: true },
  version: { type: Number, required: true },
});

/** Registers the ticket replica model on `connection` and returns its store. */
export function ticketStore(connection: Connection): TicketStore {
  const model =
    (connection.models.Ticket as Model<TicketReplica & { version: number }> | undefined) ??
    connection.model<TicketReplica & { version: number }>('Ticket', ticketSchema);
  return new AggregateStore<TicketReplica>(model);
}
