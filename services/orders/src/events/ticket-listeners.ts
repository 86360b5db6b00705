import { type Bus, type EventData, Listener, type ListenerOptions } from '@ticketing/common';
import type { TicketStore } from '../models/ticket';

/** Copies a new ticket into the replica (version 0; a repeat is a duplicate). */
export class TicketCreatedListener extends Listener<'ticket.created'> {
  readonly subject = 'ticket.created' as const;

  constructor(
    bus: Bus,
    options: ListenerOptions,
    private readonly tickets: TicketStore,
  ) {
    super(bus, options);
  }

  /** Applies the event; a version the replica already has is acked without change. */
  async onMessage(data: EventData<'ticket.created'>): Promise<void> {
    await this.tickets.applyVersion(data.id, data.version, { title: data.title, price: data.price });
  }
}

/**
 * Applies a ticket's changes in version order: an update that arrives before its predecessor is held back
 * (OutOfOrderError from applyVersion → delayed nak), a repeat is acked. Only title and price are copied: the
 * event's orderId is the tickets service's view of a reservation this service decides itself.
 */
export class TicketUpdatedListener extends Listener<'ticket.updated'> {
  readonly subject = 'ticket.updated' as const;

  constructor(
    bus: Bus,
    options: ListenerOptions,
    private readonly tickets: TicketStore,
  ) {
    super(bus, options);
  }

  /** Applies the event on top of the previous version. */
  async onMessage(data: EventData<'ticket.updated'>): Promise<void> {
    await this.tickets.applyVersion(data.id, data.version, { title: data.title, price: data.price });
  }
}
