import { type ApiRouter, linkNextPage, nextPageHeader, pageQuerySchema } from '@ticketing/common';
import type { OnSaleListing } from '../models/on-sale';
import { ticketListSchema } from './schemas';

/**
 * GET /api/tickets?limit=&after= → 200 [ticket]: up to `limit` tickets on sale (not reserved), oldest first,
 * after the ticket `after`, with a `Link: rel="next"` header while there are more.
 */
export function listTicketsRoute(api: ApiRouter, listing: OnSaleListing): void {
  api.route({
    method: 'get',
    path: '/api/tickets',
    operationId: 'listTickets',
    summary: 'The tickets on sale (not reserved), oldest first, a page at a time',
    auth: 'none',
    query: pageQuerySchema,
    responses: {
      200: {
        description: 'A page of the tickets on sale',
        schema: ticketListSchema,
        headers: nextPageHeader,
      },
    },
    handler: async (req, res) => {
      const { limit, after } = req.validQuery;
      const page = listing.page(limit, after);
      linkNextPage(res, '/api/tickets', limit, page.next);
      res.status(200).json(page.tickets);
    },
  });
}
