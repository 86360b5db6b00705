import { type ApiRouter, ConflictError, ForbiddenError, NotFoundError } from '@ticketing/common';
import { editRefusal, type TicketStore, ticketEventData, ticketView } from '../domain/ticket';
import { ticketIdFrom, ticketParamsSchema, ticketSchema, updateTicketBodySchema } from './schemas';

/**
 * PUT /api/tickets/:id {title, price, version?} → 200 ticket. 403 unless the caller owns it, 409 while it is
 * reserved, 409 (field `version`) when it is no longer at the client's `version`. The new title and price are
 * the ticket's next version with its ticket.updated; a reservation is a version too, so one that lands first
 * makes this decision run again and refuse.
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
      403: 'Not your ticket',
      404: 'No such ticket (also for an id that is not an ObjectId)',
      409: 'The ticket is reserved, or (`field: "version"`) it is no longer at the version sent',
    },
    handler: async (req, res) => {
      const id = ticketIdFrom(req.params.id);
      const { title, price: priceCents, version: expectedVersion } = req.body;
      const { latest } = await tickets.decide(id, (ticket) => {
        if (!ticket) throw new NotFoundError('Ticket not found');
        const refusal = editRefusal(ticket, req.currentUser!.id);
        if (refusal === 'not_owner') throw new ForbiddenError('Not your ticket');
        if (refusal === 'reserved') throw new ConflictError('Ticket is reserved and cannot be edited');
        if (expectedVersion !== undefined && expectedVersion !== ticket.version) {
          throw new ConflictError(
            `Ticket is at version ${ticket.version}, not ${expectedVersion}`,
            'version',
          );
        }
        const state = { ...ticket, title, priceCents };
        return { state, events: [{ subject: 'ticket.updated', data: ticketEventData(id, state) }] };
      });
      res.status(200).json(ticketView(latest!));
    },
  });
}
