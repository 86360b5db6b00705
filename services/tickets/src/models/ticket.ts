import { AggregateStore, type EventData, type Head } from '@ticketing/common';
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import { centsToPrice } from '../price';

/** A ticket's state: what every version of it holds besides its id and version. */
export interface TicketState {
  /** Trimmed title, 1-200 characters. */
  title: string;
  /** Price in integer cents, so that it is stored exactly; the API and events show major units. */
  priceCents: number;
  /** The owner (the auth service's user id). */
  userId: string;
  /** The order holding the ticket; null while it is on sale. */
  orderId: string | null;
  /** Set when the holding order completed: the ticket is sold to it, never released or edited again. */
  sold: boolean;
  /**
   * Last applied version of each order whose events touched this ticket (order id → version): order events
   * reach us on one consumer per subject, so they are applied in the order's own version order.
   */
  orderVersions: Record<string, number>;
}

/** A ticket as read: its state, id and version (0 when created, +1 with every change and its ticket.*). */
export type StoredTicket = Head<TicketState>;

/** The head documents of tickets (what queries read). */
export type TicketModel = Model<TicketState & { version: number }>;

/** The tickets store: every change is one insert claiming the next version, carrying its events. */
export type TicketStore = AggregateStore<TicketState>;

const ticketSchema = new Schema<TicketState & { version: number }>(
  {
    title: { type: String, required: true },
    priceCents: { type: Number, required: true },
    userId: { type: String, required: true },
    orderId: { type: String, default: null },
    sold: { type: Boolean, required: true, default: false },
    orderVersions: { type: Schema.Types.Mixed, required: true, default: {} },
    version: { type: Number, required: true },
  },
  // `version` is ours; mongoose's own `__v` would only confuse readers of the documents.
  { versionKey: false, minimize: false },
);

/** The tickets' head model on `connection`, registered on first use. */
export function ticketModel(connection: Connection): TicketModel {
  return (
    (connection.models.Ticket as TicketModel | undefined) ??
    (connection.model('Ticket', ticketSchema) as unknown as TicketModel)
  );
}

/** The tickets' models as the service definition hands them around. */
export interface TicketsModels {
  /** The tickets store (writes). */
  tickets: TicketStore;
  /** The head model (queries). */
  ticketHeads: TicketModel;
  /** The stores whose events the relay publishes. */
  outbox: [TicketStore];
}

/** Registers the tickets' models on `connection`. */
export function ticketsModels(connection: Connection): TicketsModels {
  const ticketHeads = ticketModel(connection);
  const tickets = new AggregateStore<TicketState>(ticketHeads);
  return { tickets, ticketHeads, outbox: [tickets] };
}

/** A ticket as the API returns it: price in major units, `orderId` only while reserved. */
export interface TicketView {
  /** Ticket id. */
  id: string;
  /** Title. */
  title: string;
  /** Price in major units, e.g. 12.5. */
  price: number;
  /** Owner. */
  userId: string;
  /** Current version (what a client sends back as `version` to update only what it has seen). */
  version: number;
  /** The order holding it, when reserved. */
  orderId?: string;
}

/** The fields of a ticket that its view and its events are made of. */
type PublicTicket = Pick<StoredTicket, '_id' | 'title' | 'priceCents' | 'userId' | 'version' | 'orderId'>;

/** The API view of a ticket. */
export function ticketView(ticket: PublicTicket): TicketView {
  const view: TicketView = {
    id: String(ticket._id),
    title: ticket.title,
    price: centsToPrice(ticket.priceCents),
    userId: ticket.userId,
    version: ticket.version,
  };
  if (ticket.orderId) view.orderId = ticket.orderId;
  return view;
}

/** The payload of ticket.created / ticket.updated for a ticket as it is at its `version`. */
export function ticketEventData(ticket: PublicTicket): EventData<'ticket.updated'> {
  const data: EventData<'ticket.updated'> = {
    id: String(ticket._id),
    version: ticket.version,
    title: ticket.title,
    price: centsToPrice(ticket.priceCents),
    userId: ticket.userId,
  };
  if (ticket.orderId) data.orderId = ticket.orderId;
  return data;
}
