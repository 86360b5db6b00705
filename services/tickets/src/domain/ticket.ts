import { type AggregateStore, centsToPrice, type EventData, type EventInput } from '@ticketing/common';

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
}

export type Ticket = TicketState & { _id: string; version: number };

/** The tickets: one aggregate per ticket, every change a version with its ticket.* events. */
export type TicketStore = AggregateStore<TicketState>;

/** What an order event says, reduced to what its ticket needs. */
export type OrderFact =
  | { kind: 'created'; orderId: string; price: number }
  | { kind: 'cancelled'; orderId: string }
  | { kind: 'completed'; orderId: string };

/** What an order event does to the ticket it names. */
export type TicketReaction =
  /** The order now holds the ticket. */
  | { kind: 'reserve' }
  /** The ticket is back on sale. */
  | { kind: 'release' }
  /** The holding order completed: the ticket stays its own for good. */
  | { kind: 'sell' }
  /** The order was placed at a price the ticket no longer has: the order cannot have it. */
  | { kind: 'refuse' }
  /** Nothing changes but the record that the order's event was applied. */
  | { kind: 'ignore'; reason: string; level: 'debug' | 'warn' }
  /** Not yet: another order's release must be applied first. */
  | { kind: 'wait'; reason: string };

/**
 * How a ticket reacts to an order event, applied in the order's own version order (price authority,
 * no double sale). A new order finds the ticket free unless another order's cancellation has not reached us yet
 * (orders reserves atomically, so that order let the ticket go): it waits for that release rather than
 * overwrite the holder, which the late cancellation would then put back on sale.
 */
export function reactToOrder(ticket: TicketState, fact: OrderFact): TicketReaction {
  switch (fact.kind) {
    case 'created':
      if (ticket.orderId) {
        return {
          kind: 'wait',
          reason: `ticket is still held by ${ticket.orderId} here; its release comes first`,
        };
      }
      // The tickets service is the authority on the price: an order placed on a stale copy is refused.
      return Math.round(fact.price * 100) === ticket.priceCents ? { kind: 'reserve' } : { kind: 'refuse' };
    case 'cancelled':
      if (ticket.orderId !== fact.orderId) {
        return { kind: 'ignore', level: 'debug', reason: 'the cancelled order did not hold the ticket' };
      }
      if (ticket.sold) {
        return { kind: 'ignore', level: 'warn', reason: 'the order had completed; a sold ticket stays sold' };
      }
      return { kind: 'release' };
    case 'completed':
      return ticket.orderId === fact.orderId
        ? { kind: 'sell' }
        : { kind: 'ignore', level: 'warn', reason: 'the completed order did not hold the ticket' };
  }
}

/** The ticket after a reaction (`wait` changes nothing: nothing is written for it). */
export function evolve(ticket: TicketState, reaction: TicketReaction, orderId: string): TicketState {
  const state: TicketState = {
    title: ticket.title,
    priceCents: ticket.priceCents,
    userId: ticket.userId,
    orderId: ticket.orderId,
    sold: ticket.sold,
  };
  switch (reaction.kind) {
    case 'reserve':
      return { ...state, orderId };
    case 'release':
      return { ...state, orderId: null };
    case 'sell':
      return { ...state, sold: true };
    default:
      return state;
  }
}

/**
 * The events of a ticket's new version: always its ticket.updated (the orders service applies ticket versions
 * without gaps), plus ticket.refused when it refused an order.
 */
export function ticketEvents(
  id: string,
  next: TicketState,
  reaction: TicketReaction,
  orderId: string,
): EventInput[] {
  const events: EventInput[] = [{ subject: 'ticket.updated', data: ticketEventData(id, next) }];
  if (reaction.kind === 'refuse') {
    events.push({
      subject: 'ticket.refused',
      data: { id, orderId, reason: 'price_changed', price: centsToPrice(next.priceCents) },
    });
  }
  return events;
}

/** The payload of ticket.created / ticket.updated (without the version, which the store stamps). */
export function ticketEventData(
  id: string,
  ticket: TicketState,
): Omit<EventData<'ticket.updated'>, 'version'> {
  const data: Omit<EventData<'ticket.updated'>, 'version'> = {
    id,
    title: ticket.title,
    price: centsToPrice(ticket.priceCents),
    userId: ticket.userId,
  };
  if (ticket.orderId) data.orderId = ticket.orderId;
  return data;
}

/** A ticket as the API returns it: price in major units, `orderId` only while reserved. */
export interface TicketView {
  id: string;
  title: string;
  /** Price in major units, e.g. 12.5. */
  price: number;
  userId: string;
  /** Current version (what a client sends back as `version` to update only what it has seen). */
  version: number;
  orderId?: string;
}

export function ticketView(ticket: Ticket): TicketView {
  const view: TicketView = {
    id: ticket._id,
    title: ticket.title,
    price: centsToPrice(ticket.priceCents),
    userId: ticket.userId,
    version: ticket.version,
  };
  if (ticket.orderId) view.orderId = ticket.orderId;
  return view;
}

/** Why an owner may not edit the ticket now, or undefined when they may. */
export function editRefusal(ticket: TicketState, userId: string): 'not_owner' | 'reserved' | undefined {
  if (ticket.userId !== userId) return 'not_owner';
  if (ticket.orderId) return 'reserved';
  return undefined;
}
