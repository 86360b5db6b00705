import { ApiRouter, type ServiceContext, type ServiceDefinition } from '@ticketing/common';
import type { ChargeDeps } from './charging/order-charge';
import { type PaymentsConfig, paymentsConfigSchema } from './config';
import {
  OrderCancelledListener,
  OrderCompletedListener,
  OrderCreatedListener,
} from './events/order-listeners';
import type { PaymentGateway } from './gateway/payment-gateway';
import { SandboxGateway } from './gateway/sandbox-gateway';
import { StripeGateway } from './gateway/stripe-gateway';
import { type PaymentsModels, paymentsModels } from './models/models';
import { declareNewPayment } from './routes/new-payment';

/** A running payments instance's wiring. */
export type PaymentsContext = ServiceContext<PaymentsConfig, PaymentsModels>;

/** Builds the gateway a running instance charges through. */
export type GatewayFactory = (context: PaymentsContext) => PaymentGateway;

/** Options of {@link createPaymentsService}. */
export interface PaymentsServiceOptions {
  /** Gateway factory; default {@link gatewayFromConfig}. */
  gateway?: GatewayFactory;
}

/** The Stripe gateway the environment describes (STRIPE_SECRET_KEY, STRIPE_API_URL, ...). */
export function stripeGatewayFromConfig(config: PaymentsConfig): StripeGateway {
  if (!config.STRIPE_SECRET_KEY) throw new TypeError('STRIPE_SECRET_KEY is required for the Stripe gateway');
  return new StripeGateway({
    secretKey: config.STRIPE_SECRET_KEY,
    apiUrl: config.STRIPE_API_URL,
    timeoutMs: config.STRIPE_TIMEOUT_MS,
    maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
  });
}

/** The gateway `PAYMENT_GATEWAY` names: Stripe (default), or the sandbox keeping its records in our database. */
export const gatewayFromConfig: GatewayFactory = (context) =>
  context.config.PAYMENT_GATEWAY === 'sandbox'
    ? new SandboxGateway({ connection: context.connection, logger: context.logger })
    : stripeGatewayFromConfig(context.config);

/** The payments service definition; `options.gateway` lets a test observe the gateway it charges through. */
export function createPaymentsService(
  options: PaymentsServiceOptions = {},
): ServiceDefinition<PaymentsConfig, PaymentsModels> {
  const makeGateway = options.gateway ?? gatewayFromConfig;
  // Listeners and routes of one running instance share one gateway (one client, one pool of sockets).
  const gateways = new WeakMap<PaymentsContext, PaymentGateway>();
  const chargeDeps = (context: PaymentsContext): ChargeDeps => {
    let gateway = gateways.get(context);
    if (!gateway) {
      gateway = makeGateway(context);
      gateways.set(context, gateway);
    }
    return {
      claims: context.models.claims,
      payments: context.models.payments,
      gateway,
      logger: context.logger,
      claimGraceMs: context.config.PAYMENT_CLAIM_GRACE_SECONDS * 1000,
    };
  };

  return {
    name: 'payments',
    configSchema: paymentsConfigSchema,
    models: paymentsModels,
    listeners(context) {
      const { orders } = context.models;
      return [
        new OrderCreatedListener(context.bus, context.listenerOptions, orders),
        new OrderCancelledListener(context.bus, context.listenerOptions, { ...chargeDeps(context), orders }),
        new OrderCompletedListener(context.bus, context.listenerOptions, orders),
      ];
    },
    routes(app, context) {
      const api = new ApiRouter({
        title: 'payments API',
        version: '1.0.0',
        validateResponses: context.config.API_VALIDATE_RESPONSES,
      });
      declareNewPayment(api, { ...chargeDeps(context), models: context.models });
      api.mount(app);
    },
  };
}

/** The payments service as it runs in production: the gateway `PAYMENT_GATEWAY` names. */
export const paymentsService = createPaymentsService();
