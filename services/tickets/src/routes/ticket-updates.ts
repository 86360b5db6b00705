import type { EventStreamHub } from '@ticketing/common';
import type { Express } from 'express';

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
