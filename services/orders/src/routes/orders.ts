import {
  type ApiRouter,
  ConflictError,
  ForbiddenError,
  linkNextPage,
  NotAuthorizedError,
  NotFoundError,
  nextPageHeader,
  objectIdSchema,
  pageQuerySchema,
  type UserPayload,
} from '@ticketing/common';
import { type Order, type OrderStore, orderView } from '../domain/order';
import type { OrderBook } from '../models/order-book';
import {
  newOrderBodySchema,
  orderListSchema,
  orderParamsSchema,
  orderSchema,
  showOrderQuerySchema,
} from './schemas';

const notFound = 'No such order of anyone (also for an id that is not an ObjectId)';
const notYours = 'The order is someone else’s';

/** The signed-in user's order `id`: 404 for a malformed or unknown id, 403 for someone else's. */
async function ownOrder(orders: OrderStore, id: string, user: UserPayload): Promise<Order> {
  if (!objectIdSchema.safeParse(id).success) throw new NotFoundError('Order not found');
  const order = await orders.get(id);
  if (!order || order.abandoned) throw new NotFoundError('Order not found');
  if (order.userId !== user.id) throw new ForbiddenError('Not your order');
  return order;
}

/** Declares POST/GET /api/orders and GET/DELETE /api/orders/:id. */
export function orderRoutes(api: ApiRouter, orders: OrderStore, book: OrderBook): void {
  api.route({
    method: 'post',
    path: '/api/orders',
    operationId: 'createOrder',
    summary: 'Reserve a ticket: an order holding it until paid or expired',
    auth: 'required',
    body: newOrderBodySchema,
    responses: {
      201: { description: 'The new order, at version 0, status `created`', schema: orderSchema },
      403: 'The ticket is the caller’s own',
      404: 'No such ticket (waited for up to REPLICA_WAIT_MS for a ticket just listed)',
      409: 'The ticket is reserved, the caller holds MAX_LIVE_ORDERS_PER_USER unpaid orders, or let this ticket go less than REORDER_COOLDOWN_SECONDS ago',
    },
    handler: async (req, res) => {
      const userId = req.currentUser!.id;
      // Auth issues ObjectId user ids; a token with anything else cannot belong to a user of this system.
      if (!objectIdSchema.safeParse(userId).success) throw new NotAuthorizedError();
      const order = await book.place(userId, req.body.ticketId);
      res.status(201).json(orderView(order));
    },
  });

  api.route({
    method: 'get',
    path: '/api/orders',
    operationId: 'listOrders',
    summary: 'My orders, oldest first, a page at a time, each with its ticket',
    auth: 'required',
    query: pageQuerySchema,
    responses: {
      200: { description: 'A page of the caller’s orders', schema: orderListSchema, headers: nextPageHeader },
    },
    handler: async (req, res) => {
      const { limit, after } = req.validQuery;
      const mine = await orders.find(
        { userId: req.currentUser!.id, ...(after ? { _id: { $gt: after } } : {}) },
        { sort: { _id: 1 }, limit: limit + 1 },
      );
      const page = mine.slice(0, limit);
      linkNextPage(res, '/api/orders', limit, mine.length > limit ? page[page.length - 1]!._id : undefined);
      res.status(200).json(page.map(orderView));
    },
  });

  api.route({
    method: 'get',
    path: '/api/orders/:id',
    operationId: 'showOrder',
    summary: 'One of my orders; with `waitFor`, once it reaches that status or ends otherwise',
    auth: 'required',
    params: orderParamsSchema,
    query: showOrderQuerySchema,
    responses: {
      200: { description: 'The order (as it is when the wait ends)', schema: orderSchema },
      403: notYours,
      404: notFound,
    },
    handler: async (req, res) => {
      let order = await ownOrder(orders, req.params.id, req.currentUser!);
      const { waitFor, timeout } = req.validQuery;
      if (waitFor && order.status === 'created' && waitFor !== 'created') {
        const ended = (latest: Order | null) => latest?.status !== 'created';
        order =
          (await orders.waitFor(order._id, ended, { timeoutMs: timeout * 1000, current: order })) ?? order;
      }
      res.status(200).json(orderView(order));
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
      409: 'The order is complete (paid)',
    },
    handler: async (req, res) => {
      const order = await ownOrder(orders, req.params.id, req.currentUser!);
      const settled =
        order.status === 'complete'
          ? order
          : await book.settle(order._id, { status: 'cancelled', reason: 'buyer_cancelled' });
      if (settled?.status === 'complete') throw new ConflictError('A completed order cannot be cancelled');
      res.status(204).end();
    },
  });
}
