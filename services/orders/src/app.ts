import { ApiRouter, type ServiceDefinition } from '@ticketing/common';
import { type OrdersConfig, ordersConfigSchema } from './config';
import { ExpirationCompleteListener, PaymentCreatedListener } from './events/order-listeners';
import { TicketCreatedListener, TicketUpdatedListener } from './events/ticket-listeners';
import { OrderLifecycle } from './models/lifecycle';
import { type OrdersModels, ordersModels } from './models/models';
import { LIVE_ORDER } from './models/order';
import { orderUpdatesHub, orderUpdatesRoute } from './routes/order-updates';
import { orderRoutes } from './routes/orders';

/** The orders service: orders reserving tickets, the ticket replica, reactions to expiry and payment. */
export const ordersService: ServiceDefinition<OrdersConfig, OrdersModels> = {
  name: 'orders',
  configSchema: ordersConfigSchema,
  models: ordersModels,
  listeners: ({ bus, listenerOptions, logger, models }) => {
    const lifecycle = new OrderLifecycle({ models, logger });
    return [
      new TicketCreatedListener(bus, listenerOptions, models.tickets),
      new TicketUpdatedListener(bus, listenerOptions, models.tickets),
      new ExpirationCompleteListener(bus, listenerOptions, models.orders, lifecycle),
      new PaymentCreatedListener(bus, listenerOptions, models.orders, lifecycle),
    ];
  },
  workers: (context) => [orderUpdatesHub(context)],
  routes: (app, context) => {
    const { config, logger, models } = context;
    orderUpdatesRoute(app, orderUpdatesHub(context), async (userId) => {
      const open = await models.orders.model
        .find({ userId, status: 'created', ...LIVE_ORDER })
        .select('_id')
        .lean();
      return open.map((order) => String(order._id));
    });
    const api = new ApiRouter({
      title: 'orders API',
      version: '1.0.0',
      validateResponses: config.API_VALIDATE_RESPONSES,
    });
    orderRoutes(api, {
      orders: models.orders,
      lifecycle: new OrderLifecycle({ models, logger }),
      expirationSeconds: config.ORDER_EXPIRATION_SECONDS,
    });
    api.mount(app);
  },
};
