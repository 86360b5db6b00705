import type { ServiceContext, ServiceDefinition } from '@ticketing/common';
import { type PaymentsConfig, paymentsConfigSchema } from './config';
import {
  OrderCancelledListener,
  OrderCompletedListener,
  OrderCreatedListener,
} from './events/order-listeners';
import type { PaymentGateway } from './gateway/payment-gateway';
import { StripeGateway } from './gateway/stripe-gateway';
import { type PaymentsModels, paymentsModels } from './models/models';
import { mountNewPayment } from './routes/new-payment';

/** Builds the gateway a running service charges through. */
export type GatewayFactory = (config: PaymentsConfig) => PaymentGateway;

/** Options of {@link createPaymentsService}. */
export interface PaymentsServiceOptions {
  /** Gateway factory; default a {@link StripeGateway} configured from the environment. */
  gateway?: GatewayFactory;
}

/** The Stripe gateway the environment describes. */
export const stripeGatewayFromConfig: GatewayFactory = (config) =>
  new StripeGateway({
    secretKey: config.STRIPE_SECRET_KEY,
    apiUrl: config.STRIPE_API_URL,
    timeoutMs: config.STRIPE_TIMEOUT_MS,
    maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
  });

type PaymentsContext = ServiceContext<PaymentsConfig, PaymentsModels>;

/** The payments service definition; `options.gateway` lets a test observe the gateway it charges through. */
export function createPaymentsService(
  options: PaymentsServiceOptions = {},
): ServiceDefinition<PaymentsConfig, PaymentsModels> {
  const makeGateway = options.gateway ?? stripeGatewayFromConfig;
  // Listeners and routes of one running instance share one gateway (one client, one pool of sockets).
  const gateways = new WeakMap<PaymentsContext, PaymentGateway>();
  const gatewayOf = (context: PaymentsContext): PaymentGateway => {
    let gateway = gateways.get(context);
    if (!gateway) {
      gateway = makeGateway(context.config);
      gateways.set(context, gateway);
    }
    return gateway;
  };

  return {
    name: 'payments',
    configSchema: paymentsConfigSchema,
    models: paymentsModels,
    listeners(context) {
      const { orders, payments, claims } = context.models;
      const gateway = gatewayOf(context);
      return [
        new OrderCreatedListener(context.bus, context.listenerOptions, orders),
        new OrderCancelledListener(context.bus, context.listenerOptions, {
          orders,
          payments,
          claims,
          gateway,
        }),
        new OrderCompletedListener(context.bus, context.listenerOptions, orders),
      ];
    },
    routes(app, context) {
      mountNewPayment(app, { models: context.models, gateway: gatewayOf(context), logger: context.logger });
    },
  };
}

/** The payments service as it runs in production: Stripe from the environment. */
export const paymentsService = createPaymentsService();
