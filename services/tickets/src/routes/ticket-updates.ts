import { type Bus, type EventStreamHub, type Logger, sharedEventStreamHub } from '@ticketing/common';
import type { Express } from 'express';

/**
 * The live feed of the TICKETS stream, one per running service (one ordered consumer, whatever the number of
 * open pages). It is a worker of the service and the source of {@link ticketUpdatesRoute}: both get it here, so
 * they share it.
 */
export function ticketUpdatesHub(context: { bus: Bus; logger: Logger }): EventStreamHub {
  return sharedEventStreamHub({
    bus: context.bus,
    stream: 'TICKETS',
    consumerPrefix: 'tickets_updates',
    logger: context.logger,
  });
}

/**
 * GET /api/tickets/updates: Server-Sent Events of every ticket.created and ticket.updated (listed, edited,
 * reserved — with `orderId` — sold, relisted), public like the list itself. `id` is the TICKETS sequence;
 * `Last-Event-ID` resumes after it. Registered before the API's `/api/tickets/:id`, which would take the path.
 */
export function ticketUpdatesRoute(app: Express, hub: EventStreamHub): void {
  app.get('/api/tickets/updates', (req, res, next) => {
    hub.serve(req, res).catch(next);
  });
}
