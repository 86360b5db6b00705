import type { IRouter } from 'express';
import { type StoredTicket, type TicketModel, ticketView } from '../models/ticket';

/** GET /api/tickets → 200 [ticket]: the tickets on sale (not reserved), oldest first. */
export function mountListTickets(router: IRouter, ticketHeads: TicketModel): void {
  router.get('/api/tickets', async (_req, res) => {
    const onSale = await ticketHeads
      .find({ orderId: null })
      .select('title priceCents userId version orderId')
      .sort({ _id: 1 })
      .lean<StoredTicket[]>();
    res.status(200).json(onSale.map(ticketView));
  });
}
