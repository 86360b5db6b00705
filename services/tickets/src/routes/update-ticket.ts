import {
  type ApiRouter,
  ConflictError,
  errorBodySchema,
  ForbiddenError,
  NotFoundError,
  newEvent,
  VersionConflictError,
} from '@ticketing/common';
import { type TicketStore, ticketEventData, ticketView } from '../models/ticket';
import { ticketIdFrom, ticketParamsSchema, ticketSchema, updateTicketBodySchema } from './schemas';

/**
 * PUT /api/tickets/:id {title, price, version?} → 200 ticket. 403 unless the caller owns it, 409 while it is
 * reserved, 409 (field `version`) when it is no longer at the client's `version` or someone else wrote the
 * next version first: the write claims version n+1 of the version n it read, with its ticket.updated.
 */
export function updateTicketRoute(api: ApiRouter, tickets: TicketStore): void {
  api.route({
    method: 'put',
    path: '/api/tickets/:id',
    operationId: 'updateTicket',
    summary: 'Replace the title and price of one of my tickets',
    auth: 'required',
    params: ticketParamsSchema,
    body: updateTicketBodySchema,
    responses: {
      200: { description: 'The updated ticket, one version on', schema: ticketSchema },
      403: { description: 'Not your ticket', schema: errorBodySchema },
      404: {
        description: 'No such ticket (also for an id that is not an ObjectId)',
        schema: errorBodySchema,
      },
      409: {
        description:
          'The ticket is reserved, or (`field: "version"`) it is no longer at the version sent or changed meanwhile',
        schema: errorBodySchema,
      },
    },
    handler: async (req, res) => {
      const id = ticketIdFrom(req.params.id);
      const { title, price: priceCents, version: expectedVersion } = req.body;
      const ticket = await tickets.get(id);
      if (!ticket) throw new NotFoundError('Ticket not found');
      if (ticket.userId !== req.currentUser!.id) throw new ForbiddenError('Not your ticket');
      if (ticket.orderId) throw new ConflictError('Ticket is reserved and cannot be edited');
      if (expectedVersion !== undefined && expectedVersion !== ticket.version) {
        throw new ConflictError(`Ticket is at version ${ticket.version}, not ${expectedVersion}`, 'version');
      }

      const next = { ...ticket, title, priceCents, version: ticket.version + 1 };
      try {
        // A reservation is a new version too, so losing this claim also covers a ticket reserved meanwhile.
        const updated = await tickets.update(ticket, { title, priceCents }, [
          newEvent('ticket.updated', ticketEventData(next)),
        ]);
        res.status(200).json(ticketView(updated));
      } catch (error) {
        if (error instanceof VersionConflictError) {
          throw new ConflictError('Ticket was changed meanwhile; reload it and try again', 'version');
        }
        throw error;
      }
    },
  });
}
