import {
  type Logger,
  newEvent,
  OutOfOrderError,
  PoisonMessageError,
  VersionConflictError,
  versionVerdict,
} from '@ticketing/common';
import { type StoredTicket, type TicketState, type TicketStore, ticketEventData } from '../models/ticket';

/** What an order event does to the ticket it names. */
export type TicketReaction =
  /** The order now holds the ticket. */
  | { kind: 'reserve' }
  /** The ticket is back on sale. */
  | { kind: 'release' }
  /** The holding order completed: the ticket stays its own for good (sold). */
  | { kind: 'sell' }
  /** Nothing about the ticket changes (logged with the reason); only the order's version is recorded. */
  | { kind: 'ignore'; reason: string; level: 'debug' | 'warn' }
  /** Not yet: another event must be applied first (nothing is written; the listener retries later). */
  | { kind: 'wait'; reason: string };

/** One order event, reduced to what the ticket needs. */
export interface OrderEventForTicket {
  /** The subject, for logs. */
  subject: 'order.created' | 'order.cancelled' | 'order.completed';
  /** The order. */
  orderId: string;
  /** The order's version carried by the event. */
  orderVersion: number;
  /** The ticket the order is for. */
  ticketId: string;
}

/** What {@link applyOrderEvent} did. */
export type OrderEventOutcome = 'applied' | 'duplicate';

/** The event must wait for another one to be applied to the ticket first; the listener retries it later. */
export class TicketNotReadyError extends Error {
  override readonly name = 'TicketNotReadyError';
  /** Stable code for callers and logs. */
  readonly code = 'TICKET_NOT_READY';
}

/** The ticket kept changing under the handler; the listener retries the event later. */
export class TicketContentionError extends Error {
  override readonly name = 'TicketContentionError';
  /** Stable code for callers and logs. */
  readonly code = 'TICKET_CONTENTION';
}

// A lost claim means another change of this ticket landed first; re-reading settles it in a round or two.
const MAX_ATTEMPTS = 5;
const RETRY_PAUSE_MS = 10;

function changesFor(reaction: TicketReaction, orderId: string): Partial<TicketState> {
  switch (reaction.kind) {
    case 'reserve':
      return { orderId };
    case 'release':
      return { orderId: null };
    case 'sell':
      return { sold: true };
    case 'ignore':
    case 'wait':
      return {};
  }
}

/**
 * Applies an order event to its ticket in the order's version order, exactly once. The ticket records the last
 * applied version of each order: a repeat is a duplicate (nothing written, nothing published); a gap throws
 * {@link OutOfOrderError} so the listener holds the event back. Otherwise `react` decides, and the change, the
 * recorded order version and a ticket.updated are one new version of the ticket. Every version is published
 * (the orders service applies ticket versions without gaps), so even a change that leaves the public fields as
 * they were publishes a ticket.updated carrying them.
 */
export async function applyOrderEvent(
  tickets: TicketStore,
  logger: Logger,
  event: OrderEventForTicket,
  react: (ticket: StoredTicket) => TicketReaction,
): Promise<OrderEventOutcome> {
  const { orderId, orderVersion, ticketId } = event;
  for (let attempt = 1; ; attempt++) {
    const ticket = await tickets.get(ticketId);
    // Orders learn of tickets from ticket.created, which exists only after the ticket does: retrying cannot help.
    if (!ticket) throw new PoisonMessageError(`ticket ${ticketId} does not exist`);
    const applied = ticket.orderVersions?.[orderId];
    const verdict = versionVerdict(applied, orderVersion);
    if (verdict === 'duplicate') return 'duplicate';
    if (verdict === 'early') throw new OutOfOrderError(applied, orderVersion);

    const reaction = react(ticket);
    if (reaction.kind === 'wait') {
      throw new TicketNotReadyError(
        `${event.subject} of ${orderId} for ticket ${ticketId}: ${reaction.reason}`,
      );
    }
    const changes: Partial<TicketState> = {
      ...changesFor(reaction, orderId),
      orderVersions: { ...ticket.orderVersions, [orderId]: orderVersion },
    };
    const next = { ...ticket, ...changes, version: ticket.version + 1 };
    try {
      await tickets.update(ticket, changes, [newEvent('ticket.updated', ticketEventData(next))]);
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      if (attempt >= MAX_ATTEMPTS) {
        throw new TicketContentionError(`ticket ${ticketId} kept changing while applying ${event.subject}`);
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS * attempt));
      continue;
    }
    if (reaction.kind === 'ignore') {
      logger[reaction.level](
        { subject: event.subject, orderId, orderVersion, ticketId, holder: ticket.orderId },
        `order event left the ticket as it was: ${reaction.reason}`,
      );
    }
    return 'applied';
  }
}
