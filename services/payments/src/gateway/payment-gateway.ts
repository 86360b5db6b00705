/** A charge to make: integer minor units, a card token from the client, and a key that makes retries safe. */
export interface ChargeRequest {
  amountCents: number;
  /** ISO currency code; the platform sells in US dollars only. */
  currency: 'usd';
  /** Card token collected by the client (e.g. Stripe.js `tok_...`). */
  token: string;
  /** Same key → same charge at the provider, however often the request is sent (with the same parameters). */
  idempotencyKey: string;
  /** Shown beside the charge at the provider (e.g. the order id), for reconciliation. */
  metadata?: Record<string, string>;
}

export interface ChargeResult {
  /** Provider charge id (e.g. `ch_...`). */
  chargeId: string;
}

export interface RefundRequest {
  chargeId: string;
  /** Same key → same refund at the provider. */
  idempotencyKey: string;
}

export interface RefundResult {
  /** Provider refund id (e.g. `re_...`). */
  refundId: string;
}

/**
 * Where money moves. Implementations throw {@link PaymentDeclinedError}, {@link InvalidPaymentTokenError} or
 * {@link PaymentGatewayError}, so callers never depend on one provider's error types.
 */
export interface PaymentGateway {
  /** Charges a card; resolves once the provider accepted the charge. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(request: RefundRequest): Promise<RefundResult>;
}

/** The card was declined (the provider answered, and the answer is no): the buyer may try another card. */
export class PaymentDeclinedError extends Error {
  override readonly name = 'PaymentDeclinedError';
  readonly code = 'PAYMENT_DECLINED';
  constructor(
    message: string,
    /** The provider's reason, e.g. `insufficient_funds`, when it gave one. */
    readonly declineCode?: string,
  ) {
    super(message);
  }
}

/** The card token is unknown, used up or malformed: the client must collect a new one. */
export class InvalidPaymentTokenError extends Error {
  override readonly name = 'InvalidPaymentTokenError';
  readonly code = 'PAYMENT_TOKEN_INVALID';
}

/** The provider could not be reached or failed in a way that is not the buyer's fault. */
export class PaymentGatewayError extends Error {
  override readonly name = 'PaymentGatewayError';
  readonly code = 'PAYMENT_GATEWAY_FAILED';
}
