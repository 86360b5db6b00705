import {
  type ApiRouter,
  centsToPrice,
  ForbiddenError,
  NotFoundError,
  objectIdSchema,
  priceSchema,
  titleSchema,
  versionHistory,
  versionHistorySchema,
} from '@ticketing/common';
import { z } from 'zod';
import type { TicketState, TicketStore } from '../domain/ticket';
import { ticketIdFrom, ticketParamsSchema } from './schemas';

/** What a version set, in the API's terms (price in major units; `orderId: null` when the ticket was released). */
const ticketChangesSchema = z
  .object({
    title: titleSchema.optional(),
    price: priceSchema.optional(),
    userId: objectIdSchema.optional(),
    orderId: objectIdSchema.nullable().optional(),
    sold: z.boolean().optional(),
  })
  .strict();

const ticketFields = (state: Partial<TicketState>) => ({
  title: state.title,
  price: state.priceCents === undefined ? undefined : centsToPrice(state.priceCents),
  userId: state.userId,
  orderId: state.orderId,
  sold: state.sold,
});

/**
 * GET /api/tickets/:id/history → every version of the ticket, oldest first: what it changed, when, and the events
 * it published (a refusal adds ticket.refused), read from the store's change log. Owner only.
 */
export function ticketHistoryRoute(api: ApiRouter, tickets: TicketStore): void {
  api.route({
    method: 'get',
    path: '/api/tickets/:id/history',
    operationId: 'ticketHistory',
    summary: 'Every version of one of my tickets',
    auth: 'required',
    params: ticketParamsSchema,
    responses: {
      200: { description: 'The versions, oldest first', schema: versionHistorySchema(ticketChangesSchema) },
      403: 'Not your ticket',
      404: 'No such ticket (also for an id that is not an ObjectId)',
    },
    handler: async (req, res) => {
      const id = ticketIdFrom(req.params.id);
      const ticket = await tickets.get(id);
      if (!ticket) throw new NotFoundError('Ticket not found');
      if (ticket.userId !== req.currentUser!.id) throw new ForbiddenError('Not your ticket');
      res.status(200).json(versionHistory(await tickets.history(id), ticketFields));
    },
  });
}
