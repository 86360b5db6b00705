import { EventStreamHub, forgetUser, type ServiceDefinition } from '@ticketing/common';
import { type OrdersConfig, ordersConfigSchema } from './config';
import type { BuyerState } from './domain/buyer';
import type { OrderState } from './domain/order';
import type { ReservationState } from './domain/reservation';
import type { TicketCopy } from './domain/ticket';
import { orderSubscriptions } from './events/subscriptions';
import { OrderBook } from './models/order-book';
import { orderUpdatesRoute } from './routes/order-updates';
import { orderRoutes } from './routes/orders';

/** A claim this old without its order belongs to a placement that died between the two writes. */
export const CLAIM_GRACE_MS = 30_000;

/** The orders service: orders reserving tickets, its ticket replica, reactions to tickets, expiry and payment. */
export const ordersService: ServiceDefinition<OrdersConfig> = {
  name: 'orders',
  configSchema: ordersConfigSchema,
  build({ store, bus, config, logger }) {
    const stores = {
      // Clients wait for orders to complete, commands for tickets just listed: on any replica.
      orders: store<OrderState>('orders', { indexes: [{ userId: 1 }, { status: 1 }], watched: true }),
      reservations: store<ReservationState>('reservations'),
      tickets: store<TicketCopy>('tickets', { watched: true }),
      buyers: store<BuyerState>('buyers'),
    };
    const book = new OrderBook(
      stores,
      {
        expiresInSeconds: config.ORDER_EXPIRATION_SECONDS,
        maxLiveOrders: config.MAX_LIVE_ORDERS_PER_USER,
        reorderCooldownMs: config.REORDER_COOLDOWN_SECONDS * 1000,
        claimGraceMs: CLAIM_GRACE_MS,
        confirmWaitMs: config.REPLICA_WAIT_MS,
      },
      logger,
    );
    const updates = new EventStreamHub({ bus, stream: 'ORDERS', consumerPrefix: 'orders_updates', logger });
    const openOrderIds = async (userId: string) =>
      (await stores.orders.find({ userId, status: 'created' })).map((order) => order._id);
    return {
      routes(api, app) {
        orderUpdatesRoute(app, updates, openOrderIds);
        orderRoutes(api, stores.orders, book);
      },
      listeners: [
        ...orderSubscriptions(stores, book),
        // Erasure: orders keep their money facts under the buyer's pseudonym; the list of a buyer's unpaid
        // orders is about that buyer alone.
        forgetUser(config.JWT_KEY, {
          pseudonymize: [
            { store: stores.orders, paths: ['userId'] },
            { store: stores.tickets, paths: ['userId'] },
            { store: stores.reservations, paths: ['cooldowns.*'] },
          ],
          forget: [stores.buyers],
        }),
      ],
      workers: [updates],
      stores,
    };
  },
};
