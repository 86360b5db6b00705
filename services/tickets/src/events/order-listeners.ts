import { type Bus, type EventData, Listener, type ListenerOptions } from '@ticketing/common';
import type { TicketStore } from '../models/ticket';
import { applyOrderEvent } from './apply-order-event';

/**
 * order.created → the ticket is reserved by the order. If another order still holds it here, orders (which
 * reserves atomically) has already released it — that order's cancel just has not been applied here yet (each
 * subject has its own consumer). So the event waits, redelivered with back-off, until the release is applied;
 * overwriting the holder now would let the late cancel put a ticket back on sale that the new order holds.
 */
export class OrderCreatedListener extends Listener<'order.created'> {
  readonly subject = 'order.created' as const;

  constructor(
    bus: Bus,
    options: ListenerOptions,
    private readonly tickets: TicketStore,
  ) {
    super(bus, options);
  }

  /** Reserves the ticket for the order (once, in the order's version order). */
  async onMessage(data: EventData<'order.created'>): Promise<void> {
    await applyOrderEvent(
      this.tickets,
      this.logger,
      { subject: this.subject, orderId: data.id, orderVersion: data.version, ticketId: data.ticket.id },
      (ticket) =>
        !ticket.orderId
          ? { kind: 'reserve' }
          : {
              kind: 'wait',
              reason: `ticket is still held by ${ticket.orderId} here; its release comes first`,
            },
    );
  }
}

/** order.cancelled → the ticket goes back on sale, but only if this order still holds it and it was not sold. */
export class OrderCancelledListener extends Listener<'order.cancelled'> {
  readonly subject = 'order.cancelled' as const;

  constructor(
    bus: Bus,
    options: ListenerOptions,
    private readonly tickets: TicketStore,
  ) {
    super(bus, options);
  }

  /** Releases the ticket if the cancelled order holds it. */
  async onMessage(data: EventData<'order.cancelled'>): Promise<void> {
    await applyOrderEvent(
      this.tickets,
      this.logger,
      { subject: this.subject, orderId: data.id, orderVersion: data.version, ticketId: data.ticket.id },
      (ticket) => {
        if (ticket.orderId !== data.id) {
          return { kind: 'ignore', level: 'debug', reason: 'the cancelled order did not hold the ticket' };
        }
        if (ticket.sold) {
          return {
            kind: 'ignore',
            level: 'warn',
            reason: 'the order had completed; a sold ticket stays sold',
          };
        }
        return { kind: 'release' };
      },
    );
  }
}

/**
 * order.completed → the ticket stays reserved by the order for good (marked sold: never released, never
 * editable); its ticket.updated still carries the order's id.
 */
export class OrderCompletedListener extends Listener<'order.completed'> {
  readonly subject = 'order.completed' as const;

  constructor(
    bus: Bus,
    options: ListenerOptions,
    private readonly tickets: TicketStore,
  ) {
    super(bus, options);
  }

  /** Marks the ticket sold to the completed order. */
  async onMessage(data: EventData<'order.completed'>): Promise<void> {
    await applyOrderEvent(
      this.tickets,
      this.logger,
      { subject: this.subject, orderId: data.id, orderVersion: data.version, ticketId: data.ticket.id },
      (ticket) =>
        ticket.orderId === data.id
          ? { kind: 'sell' }
          : { kind: 'ignore', level: 'warn', reason: 'the completed order did not hold the ticket' },
    );
  }
}
