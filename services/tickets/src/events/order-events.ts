import { type Logger, OutOfOrderError, on, PoisonMessageError } from '@ticketing/common';
import { evolve, type OrderFact, reactToOrder, type TicketStore, ticketEvents } from '../domain/ticket';

/**
 * Applies an order event to the ticket it names, once and in the order's version order: the ticket records the
 * versions of each order that touched it, and each applied event is one new version of the ticket with its
 * ticket.updated (and ticket.refused when it refused the order).
 */
async function applyToTicket(
  tickets: TicketStore,
  logger: Logger,
  fact: OrderFact,
  order: { version: number; ticketId: string },
): Promise<void> {
  await tickets.apply(
    { id: fact.orderId, version: order.version },
    (ticket) => {
      // Orders learn of tickets from ticket.created, published only once the ticket exists: retrying cannot help.
      if (!ticket) throw new PoisonMessageError(`ticket ${order.ticketId} does not exist`);
      const reaction = reactToOrder(ticket, fact);
      if (reaction.kind === 'wait') throw new OutOfOrderError(undefined, order.version, reaction.reason);
      if (reaction.kind === 'ignore') {
        logger[reaction.level](
          { order: fact, ticketId: order.ticketId },
          `order event ignored: ${reaction.reason}`,
        );
      }
      const next = evolve(ticket, reaction, fact.orderId);
      return { state: next, events: ticketEvents(ticket._id, next, reaction, fact.orderId) };
    },
    { into: order.ticketId },
  );
}

/** The tickets service's subscription table: what each order event does to its ticket. */
export function orderEventSubscriptions(tickets: TicketStore, logger: Logger) {
  const byTicket = { key: (data: { ticket: { id: string } }) => data.ticket.id };
  return [
    on(
      'order.created',
      (data) =>
        applyToTicket(
          tickets,
          logger,
          { kind: 'created', orderId: data.id, price: data.ticket.price },
          { version: data.version, ticketId: data.ticket.id },
        ),
      byTicket,
    ),
    on(
      'order.cancelled',
      (data) =>
        applyToTicket(
          tickets,
          logger,
          { kind: 'cancelled', orderId: data.id },
          { version: data.version, ticketId: data.ticket.id },
        ),
      byTicket,
    ),
    on(
      'order.completed',
      (data) =>
        applyToTicket(
          tickets,
          logger,
          { kind: 'completed', orderId: data.id },
          { version: data.version, ticketId: data.ticket.id },
        ),
      byTicket,
    ),
  ];
}
