import { type ApiRouter, NotFoundError } from '@ticketing/common';
import { type TicketStore, ticketView } from '../domain/ticket';
import { ticketIdFrom, ticketParamsSchema, ticketSchema } from './schemas';

/** GET /api/tickets/:id → 200 ticket (reserved or not); 404 for an unknown or malformed id. */
export function showTicketRoute(api: ApiRouter, tickets: TicketStore): void {
  api.route({
    method: 'get',
    path: '/api/tickets/:id',
    operationId: 'showTicket',
    summary: 'One ticket, reserved or not',
    auth: 'none',
    params: ticketParamsSchema,
    responses: {
      200: { description: 'The ticket (with `orderId` while reserved)', schema: ticketSchema },
      404: 'No such ticket (also for an id that is not an ObjectId)',
    },
    handler: async (req, res) => {
      const ticket = await tickets.get(ticketIdFrom(req.params.id));
      if (!ticket) throw new NotFoundError('Ticket not found');
      res.status(200).json(ticketView(ticket));
    },
  });
}
