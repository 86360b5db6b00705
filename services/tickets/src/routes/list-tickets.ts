import type { ApiRouter } from '@ticketing/common';
import { type StoredTicket, type TicketModel, ticketView } from '../models/ticket';
import { ticketListSchema } from './schemas';

/** GET /api/tickets → 200 [ticket]: the tickets on sale (not reserved), oldest first. */
export function listTicketsRoute(api: ApiRouter, ticketHeads: TicketModel): void {
  api.route({
    method: 'get',
    path: '/api/tickets',
    operationId: 'listTickets',
    summary: 'The tickets on sale (not reserved), oldest first',
    auth: 'none',
    responses: { 200: { description: 'The tickets on sale', schema: ticketListSchema } },
    handler: async (_req, res) => {
      const onSale = await ticketHeads
        .find({ orderId: null })
        .select('title priceCents userId version orderId')
        .sort({ _id: 1 })
        .lean<StoredTicket[]>();
      res.status(200).json(onSale.map(ticketView));
    },
  });
}
