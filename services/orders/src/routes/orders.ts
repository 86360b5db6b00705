import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  objectIdSchema,
  requireAuth,
  validate,
} from '@ticketing/common';
import { type Request, Router } from 'express';
import { z } from 'zod';
import type { OrderLifecycle } from '../models/lifecycle';
import { findLiveOrder, LIVE_ORDER, type OrderHead, type OrderStore, orderResponse } from '../models/order';

/** What the order routes need. */
export interface OrdersRouterOptions {
  /** The order store. */
  orders: OrderStore;
  /** Placing and cancelling. */
  lifecycle: OrderLifecycle;
  /** Reservation window of new orders. */
  expirationSeconds: number;
}

const newOrderBody = z.object({ ticketId: objectIdSchema });

/** The signed-in user's order `req.params.id`: 404 for a malformed or unknown id, 403 for someone else's. */
async function ownOrder(orders: OrderStore, req: Request): Promise<OrderHead> {
  const id = req.params.id;
  // An id that cannot exist is just an unknown order to the caller.
  if (typeof id !== 'string' || !objectIdSchema.safeParse(id).success)
    throw new NotFoundError('Order not found');
  const order = await findLiveOrder(orders, id);
  if (!order) throw new NotFoundError('Order not found');
  if (order.userId !== req.currentUser!.id) throw new ForbiddenError('Not your order');
  return order;
}

/** POST/GET /api/orders, GET/DELETE /api/orders/:id (DESIGN.md). */
export function ordersRouter(options: OrdersRouterOptions): Router {
  const { orders, lifecycle } = options;
  const router = Router();

  router.post('/api/orders', requireAuth, validate({ body: newOrderBody }), async (req, res) => {
    const { ticketId } = req.body as z.infer<typeof newOrderBody>;
    const order = await lifecycle.place({
      userId: req.currentUser!.id,
      ticketId,
      expiresInSeconds: options.expirationSeconds,
    });
    res.status(201).json(orderResponse(order));
  });

  router.get('/api/orders', requireAuth, async (req, res) => {
    const mine = await orders.model
      .find({ userId: req.currentUser!.id, ...LIVE_ORDER })
      .sort({ _id: 1 })
      .lean<OrderHead[]>();
    res.json(mine.map(orderResponse));
  });

  router.get('/api/orders/:id', requireAuth, async (req, res) => {
    res.json(orderResponse(await ownOrder(orders, req)));
  });

  router.delete('/api/orders/:id', requireAuth, async (req, res) => {
    const order = await ownOrder(orders, req);
    if (order.status === 'complete' || (await lifecycle.settle(order, 'cancelled')) === 'complete') {
      throw new ConflictError('A completed order cannot be cancelled');
    }
    res.status(204).end();
  });

  return router;
}
