import { NotAuthorizedError, newEvent, objectIdSchema, requireAuth, validate } from '@ticketing/common';
import type { IRouter } from 'express';
import { Types } from 'mongoose';
import { type TicketState, type TicketStore, ticketEventData, ticketView } from '../models/ticket';
import { type CreateTicketBody, createTicketBodySchema } from './schemas';

/** POST /api/tickets → 201 ticket; version 0 and its ticket.created are one insert. */
export function mountCreateTicket(router: IRouter, tickets: TicketStore): void {
  router.post('/api/tickets', requireAuth, validate({ body: createTicketBodySchema }), async (req, res) => {
    const { title, price: priceCents } = req.body as CreateTicketBody;
    const userId = req.currentUser!.id;
    // Auth issues ObjectId user ids; a token with anything else cannot belong to a user of this system.
    if (!objectIdSchema.safeParse(userId).success) throw new NotAuthorizedError();
    const id = new Types.ObjectId().toHexString();
    const state: TicketState = { title, priceCents, userId, orderId: null, sold: false, orderVersions: {} };
    const created = newEvent('ticket.created', ticketEventData({ ...state, _id: id, version: 0 }));
    const ticket = await tickets.create(id, state, [created]);
    res.status(201).json(ticketView(ticket));
  });
}
