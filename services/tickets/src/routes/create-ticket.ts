import {
  type ApiRouter,
  NotAuthorizedError,
  objectIdSchema,
  rateLimited,
  type SlidingWindowLimit,
  tooManyRequestsAnswer,
} from '@ticketing/common';
import { Types } from 'mongoose';
import { type TicketState, type TicketStore, ticketEventData, ticketView } from '../domain/ticket';
import { createTicketBodySchema, ticketSchema } from './schemas';

/**
 * POST /api/tickets → 201 ticket; version 0 and its ticket.created are one insert. A seller may create so many per
 * minute (`perSeller`), 429 beyond.
 */
export function createTicketRoute(api: ApiRouter, tickets: TicketStore, perSeller: SlidingWindowLimit): void {
  api.route({
    method: 'post',
    path: '/api/tickets',
    operationId: 'createTicket',
    summary: 'Put a ticket on sale',
    auth: 'required',
    body: createTicketBodySchema,
    before: [rateLimited(perSeller, (req) => (req.currentUser ? [req.currentUser.id] : undefined))],
    responses: {
      201: { description: 'The new ticket, at version 0', schema: ticketSchema },
      429: tooManyRequestsAnswer(
        'The seller created TICKET_CREATION_LIMIT_PER_MINUTE tickets in the last minute',
      ),
    },
    handler: async (req, res) => {
      const { title, price: priceCents } = req.body;
      const userId = req.currentUser!.id;
      // Auth issues ObjectId user ids; a token with anything else cannot belong to a user of this system.
      if (!objectIdSchema.safeParse(userId).success) throw new NotAuthorizedError();
      const id = new Types.ObjectId().toHexString();
      const state: TicketState = { title, priceCents, userId, orderId: null, sold: false };
      const ticket = await tickets.create(id, state, [
        { subject: 'ticket.created', data: { ...ticketEventData(id, state), currency: 'usd' } },
      ]);
      res.status(201).json(ticketView(ticket));
    },
  });
}
