import { NotFoundError } from '@ticketing/common';
import type { IRouter } from 'express';
import { type TicketStore, ticketView } from '../models/ticket';
import { ticketIdFrom } from './schemas';

/** GET /api/tickets/:id → 200 ticket (reserved or not); 404 for an unknown or malformed id. */
export function mountShowTicket(router: IRouter, tickets: TicketStore): void {
  router.get('/api/tickets/:id', async (req, res) => {
    const ticket = await tickets.get(ticketIdFrom(req.params.id));
    if (!ticket) throw new NotFoundError('Ticket not found');
    res.status(200).json(ticketView(ticket));
  });
}
