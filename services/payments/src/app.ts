import { forgetUser, type ServiceContext, type ServiceDefinition } from '@ticketing/common';
import type { ChargeDeps } from './charging/order-charge';
import { type PaymentsConfig, paymentsConfigSchema } from './config';
import type { OrderCopy, PaymentState } from './domain/payment';
import { orderSubscriptions } from './events/subscriptions';
import type { PaymentGateway } from './gateway/payment-gateway';
import { StripeGateway } from './gateway/stripe-gateway';
import { type PaymentClaim, paymentClaimSchema } from './models/claims';
import { declareNewPayment } from './routes/new-payment';

export type PaymentsContext = ServiceContext<PaymentsConfig>;

export type GatewayFactory = (context: PaymentsContext) => PaymentGateway;

/** The Stripe gateway the environment describes (STRIPE_SECRET_KEY, STRIPE_API_URL, ...). */
export function stripeGatewayFromConfig(config: PaymentsConfig): StripeGateway {
  return new StripeGateway({
    secretKey: config.STRIPE_SECRET_KEY,
    apiUrl: config.STRIPE_API_URL,
    timeoutMs: config.STRIPE_TIMEOUT_MS,
    maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
  });
}

const gatewayFromConfig: GatewayFactory = (context) => stripeGatewayFromConfig(context.config);

/** The payments service; `gateway` lets a test observe the gateway it charges through. */
export function createPaymentsService(
  gateway: GatewayFactory = gatewayFromConfig,
): ServiceDefinition<PaymentsConfig> {
  return {
    name: 'payments',
    configSchema: paymentsConfigSchema,
    build(context) {
      // Payments wait for an order just placed, on any replica.
      const orders = context.store<OrderCopy>('orders', { watched: true });
      const payments = context.store<PaymentState>('payments', { indexes: [{ orderId: 1 }] });
      const deps: ChargeDeps = {
        claims: context.model<PaymentClaim>('PaymentClaim', paymentClaimSchema),
        payments,
        gateway: gateway(context),
        logger: context.logger,
        claimGraceMs: context.config.PAYMENT_CLAIM_GRACE_SECONDS * 1000,
      };
      return {
        routes: (api) => declareNewPayment(api, { ...deps, orders }),
        listeners: [
          ...orderSubscriptions(orders, deps, context.logger),
          // Erasure: the money facts stay, under the buyer's pseudonym.
          forgetUser(context.config.JWT_KEY, {
            pseudonymize: [
              { store: orders, paths: ['userId'] },
              { store: payments, paths: ['userId'] },
            ],
            records: [{ collection: deps.claims.collection as never, field: 'userId' }],
          }),
        ],
        stores: { orders, payments },
      };
    },
  };
}

/** The payments service as it runs: charging through the Stripe API the environment names. */
export const paymentsService = createPaymentsService();
