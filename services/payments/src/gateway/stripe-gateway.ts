import Stripe from 'stripe';
import {
  type ChargeRequest,
  type ChargeResult,
  InvalidPaymentTokenError,
  PaymentDeclinedError,
  type PaymentGateway,
  PaymentGatewayError,
  type RefundRequest,
  type RefundResult,
} from './payment-gateway';

export interface StripeGatewayOptions {
  /** Secret API key (`sk_test_...` against stripe-mock or Stripe's test mode). */
  secretKey: string;
  /** API base URL, e.g. `http://127.0.0.1:12111` for stripe-mock; Stripe's own API when unset. */
  apiUrl?: string;
  /** Per-request timeout in ms (default 20000). */
  timeoutMs?: number;
  /** Automatic retries of network failures, sent with the same idempotency key (default 2). */
  maxNetworkRetries?: number;
}

/** The `host`/`port`/`protocol` settings of the Stripe client for an API base URL. */
export function stripeEndpoint(apiUrl: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(apiUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`Stripe API URL must be http(s), got ${url.protocol}`);
  }
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
  };
}

/**
 * Translates what the Stripe client throws into the gateway's errors: a `card_error` is a decline, a rejected
 * `source` is a bad token, anything else (connection refused, timeouts, 5xx, auth) is the gateway's failure.
 */
export function toGatewayError(error: unknown): Error {
  if (error instanceof Stripe.errors.StripeCardError) {
    return new PaymentDeclinedError(
      error.message || 'Your card was declined',
      // The client sets decline_code to '' when Stripe sent none (e.g. expired_card has only `code`).
      error.decline_code || error.code,
    );
  }
  if (error instanceof Stripe.errors.StripeInvalidRequestError && error.param === 'source') {
    return new InvalidPaymentTokenError(error.message || 'The card token was rejected');
  }
  const message = error instanceof Error ? error.message : String(error);
  return new PaymentGatewayError(`Stripe request failed: ${message}`, { cause: error });
}

/** {@link PaymentGateway} on Stripe's Charges API with card tokens, via the official client. */
export class StripeGateway implements PaymentGateway {
  private readonly stripe: Stripe;

  constructor(options: StripeGatewayOptions) {
    this.stripe = new Stripe(options.secretKey, {
      ...(options.apiUrl ? stripeEndpoint(options.apiUrl) : {}),
      timeout: options.timeoutMs ?? 20_000,
      maxNetworkRetries: options.maxNetworkRetries ?? 2,
      telemetry: false,
      appInfo: { name: 'ticketing-payments' },
    });
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    try {
      const charge = await this.stripe.charges.create(
        {
          amount: request.amountCents,
          currency: request.currency,
          source: request.token,
          ...(request.metadata ? { metadata: request.metadata } : {}),
        },
        { idempotencyKey: request.idempotencyKey },
      );
      return { chargeId: charge.id };
    } catch (error) {
      throw toGatewayError(error);
    }
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    try {
      const refund = await this.stripe.refunds.create(
        { charge: request.chargeId },
        { idempotencyKey: request.idempotencyKey },
      );
      return { refundId: refund.id };
    } catch (error) {
      throw toGatewayError(error);
    }
  }
}
