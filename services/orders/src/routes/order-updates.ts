import { type EventSelector, type EventStreamHub, requireAuth } from '@ticketing/common';
import type { Express } from 'express';

/** The ids of a user's orders whose status can still change (status `created`). */
export type OpenOrderIds = (userId: string) => Promise<string[]>;

/**
 * The events of one user's orders. order.created names the user; order.cancelled and order.completed carry only
 * the order id, so the connection remembers the ids it has seen created, starting from the user's open orders.
 */
export function ownOrders(userId: string, openOrderIds: Iterable<string>): EventSelector {
  const mine = new Set(openOrderIds);
  return (event) => {
    const id = String(event.data.id);
    if (event.subject === 'order.created') {
      if (event.data.userId !== userId) return false;
      mine.add(id);
      return true;
    }
    return mine.has(id);
  };
}

/**
 * GET /api/orders/updates: Server-Sent Events of the signed-in user's orders (order.created, order.cancelled,
 * order.completed); 401 when not signed in. `id` is the ORDERS sequence; `Last-Event-ID` resumes after it.
 * Registered before the API's `/api/orders/:id`, which would take the path.
 */
export function orderUpdatesRoute(app: Express, hub: EventStreamHub, openOrderIds: OpenOrderIds): void {
  app.get('/api/orders/updates', requireAuth, (req, res, next) => {
    const userId = req.currentUser!.id;
    hub.serve(req, res, { select: async () => ownOrders(userId, await openOrderIds(userId)) }).catch(next);
  });
}
