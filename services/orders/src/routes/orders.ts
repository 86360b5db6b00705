import {
  type ApiRouter,
  ConflictError,
  errorBodySchema,
  ForbiddenError,
  NotAuthorizedError,
  NotFoundError,
  objectIdSchema,
  type UserPayload,
} from '@ticketing/common';
import type { OrderLifecycle } from '../models/lifecycle';
import { findLiveOrder, LIVE_ORDER, type OrderHead, type OrderStore, orderResponse } from '../models/order';
import { newOrderBodySchema, orderListSchema, orderParamsSchema, orderSchema } from './schemas';

/** What the order routes need. */
export interface OrdersRouterOptions {
  /** The order store. */
  orders: OrderStore;
  /** Placing and cancelling. */
  lifecycle: OrderLifecycle;
  /** Reservation window of new orders. */
  expirationSeconds: number;
}

const notFound = {
  description: 'No such order of anyone (also for an id that is not an ObjectId)',
  schema: errorBodySchema,
};
const notYours = { description: 'The order is someone else’s', schema: errorBodySchema };

/** The signed-in user's order `id`: 404 for a malformed or unknown id, 403 for someone else's. */
async function ownOrder(orders: OrderStore, id: string, user: UserPayload): Promise<OrderHead> {
  // An id that cannot exist is just an unknown order to the caller.
  if (!objectIdSchema.safeParse(id).success) throw new NotFoundError('Order not found');
  const order = await findLiveOrder(orders, id);
  if (!order) throw new NotFoundError('Order not found');
  if (order.userId !== user.id) throw new ForbiddenError('Not your order');
  return order;
}

/** Declares POST/GET /api/orders and GET/DELETE /api/orders/:id (DESIGN.md) on the service's ApiRouter. */
export function orderRoutes(api: ApiRouter, options: OrdersRouterOptions): void {
  const { orders, lifecycle } = options;

  api.route({
    method: 'post',
    path: '/api/orders',
    operationId: 'createOrder',
    summary: 'Reserve a ticket: an order holding it until paid or expired',
    auth: 'required',
    body: newOrderBodySchema,
    responses: {
      201: { description: 'The new order, at version 0, status `created`', schema: orderSchema },
      404: { description: 'No such ticket', schema: errorBodySchema },
      409: { description: 'The ticket is already reserved', schema: errorBodySchema },
    },
    handler: async (req, res) => {
      const userId = req.currentUser!.id;
      // Auth issues ObjectId user ids; a token with anything else cannot belong to a user of this system
      // (and order.created could not carry it).
      if (!objectIdSchema.safeParse(userId).success) throw new NotAuthorizedError();
      const order = await lifecycle.place({
        userId,
        ticketId: req.body.ticketId,
        expiresInSeconds: options.expirationSeconds,
      });
      res.status(201).json(orderResponse(order));
    },
  });

  api.route({
    method: 'get',
    path: '/api/orders',
    operationId: 'listOrders',
    summary: 'My orders, oldest first, each with its ticket',
    auth: 'required',
    responses: { 200: { description: 'The caller’s orders', schema: orderListSchema } },
    handler: async (req, res) => {
      const mine = await orders.model
        .find({ userId: req.currentUser!.id, ...LIVE_ORDER })
        .sort({ _id: 1 })
        .lean<OrderHead[]>();
      res.status(200).json(mine.map(orderResponse));
    },
  });

  api.route({
    method: 'get',
    path: '/api/orders/:id',
    operationId: 'showOrder',
    summary: 'One of my orders',
    auth: 'required',
    params: orderParamsSchema,
    responses: {
      200: { description: 'The order', schema: orderSchema },
      403: notYours,
      404: notFound,
    },
    handler: async (req, res) => {
      res.status(200).json(orderResponse(await ownOrder(orders, req.params.id, req.currentUser!)));
    },
  });

  api.route({
    method: 'delete',
    path: '/api/orders/:id',
    operationId: 'cancelOrder',
    summary: 'Cancel one of my orders and free its ticket',
    auth: 'required',
    params: orderParamsSchema,
    responses: {
      204: { description: 'Cancelled (also when it already was)' },
      403: notYours,
      404: notFound,
      409: { description: 'The order is complete (paid)', schema: errorBodySchema },
    },
    handler: async (req, res) => {
      const order = await ownOrder(orders, req.params.id, req.currentUser!);
      if (order.status === 'complete' || (await lifecycle.settle(order, 'cancelled')) === 'complete') {
        throw new ConflictError('A completed order cannot be cancelled');
      }
      res.status(204).end();
    },
  });
}
