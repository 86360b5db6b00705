import { randomBytes } from 'node:crypto';
import type { Logger } from '@ticketing/common';
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import Stripe from 'stripe';
import type {
  ChargeRequest,
  ChargeResult,
  PaymentGateway,
  RefundRequest,
  RefundResult,
} from './payment-gateway';
import { toGatewayError } from './stripe-gateway';

/** Stripe test-mode tokens the sandbox approves, with the card brand each stands for. */
export const SANDBOX_APPROVED_TOKENS: Readonly<Record<string, string>> = {
  tok_visa: 'visa',
  tok_visa_debit: 'visa',
  tok_mastercard: 'mastercard',
  tok_mastercard_debit: 'mastercard',
  tok_mastercard_prepaid: 'mastercard',
  tok_amex: 'amex',
  tok_discover: 'discover',
  tok_diners: 'diners',
  tok_jcb: 'jcb',
  tok_unionpay: 'unionpay',
};

/** The part of a Stripe `card_error` body that a declining test token determines. */
export interface SandboxDecline {
  code: string;
  decline_code: string;
  message: string;
  param?: string;
}

/** Stripe test-mode tokens the sandbox declines, each with the `card_error` Stripe answers (HTTP 402) for it. */
export const SANDBOX_DECLINED_TOKENS: Readonly<Record<string, SandboxDecline>> = {
  tok_chargeDeclined: {
    code: 'card_declined',
    decline_code: 'generic_decline',
    message: 'Your card was declined.',
  },
  tok_chargeDeclinedInsufficientFunds: {
    code: 'card_declined',
    decline_code: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  tok_chargeDeclinedFraudulent: {
    code: 'card_declined',
    decline_code: 'fraudulent',
    message: 'Your card was declined.',
  },
  tok_chargeDeclinedLostCard: {
    code: 'card_declined',
    decline_code: 'lost_card',
    message: 'Your card was declined.',
  },
  tok_chargeDeclinedStolenCard: {
    code: 'card_declined',
    decline_code: 'stolen_card',
    message: 'Your card was declined.',
  },
  tok_chargeDeclinedExpiredCard: {
    code: 'expired_card',
    decline_code: 'expired_card',
    message: 'Your card has expired.',
    param: 'exp_month',
  },
  tok_chargeDeclinedIncorrectCvc: {
    code: 'incorrect_cvc',
    decline_code: 'incorrect_cvc',
    message: "Your card's security code is incorrect.",
    param: 'cvc',
  },
  tok_chargeDeclinedProcessingError: {
    code: 'processing_error',
    decline_code: 'processing_error',
    message: 'An error occurred while processing your card. Try again in a little bit.',
  },
};

/** Stripe's smallest USD charge, in cents. */
export const SANDBOX_MINIMUM_CHARGE_CENTS = 50;

/** The collection the sandbox keeps its charges and refunds in. */
export const SANDBOX_COLLECTION = 'sandbox_charges';

/** One answer of the sandbox, kept under the idempotency key it was given with (`_id`). */
export interface SandboxRecord {
  /** The idempotency key. */
  _id: string;
  kind: 'charge' | 'refund';
  /** The request's parameters, canonical: a replay with other parameters is refused, as Stripe does. */
  fingerprint: string;
  /** `failed`: a declined charge (its decline is replayed for the same key). */
  status: 'succeeded' | 'failed';
  /** The charge's id (a declined charge gets one too, as at Stripe); for a refund, the refunded charge. */
  chargeId: string;
  /** The refund's id (refunds only). */
  refundId?: string;
  amountCents: number;
  currency: string;
  /** The card token charged (charges only). */
  token?: string;
  /** The charge's metadata (charges only). */
  metadata?: Record<string, string>;
  /** The decline (failed charges only). */
  decline?: SandboxDecline;
  at: Date;
}

const declineSchema = new Schema<SandboxDecline>(
  {
    code: { type: String, required: true },
    decline_code: { type: String, required: true },
    message: { type: String, required: true },
    param: { type: String },
  },
  { _id: false },
);

const sandboxRecordSchema = new Schema<SandboxRecord>(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true, enum: ['charge', 'refund'] },
    fingerprint: { type: String, required: true },
    status: { type: String, required: true, enum: ['succeeded', 'failed'] },
    chargeId: { type: String, required: true },
    refundId: { type: String },
    amountCents: { type: Number, required: true },
    currency: { type: String, required: true },
    token: { type: String },
    metadata: { type: Map, of: String },
    decline: { type: declineSchema },
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: SANDBOX_COLLECTION },
);
// Refunds find their charge, and an earlier refund of it, by charge id.
sandboxRecordSchema.index({ chargeId: 1, kind: 1 });

/** The sandbox's model on `connection` (registered on first use). */
export function sandboxRecordModel(connection: Connection): Model<SandboxRecord> {
  return (
    (connection.models.SandboxCharge as Model<SandboxRecord> | undefined) ??
    connection.model<SandboxRecord>('SandboxCharge', sandboxRecordSchema)
  );
}

const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A Stripe-shaped object id: `<prefix>_` and 24 random alphanumerics. */
function stripeLikeId(prefix: string): string {
  const bytes = randomBytes(24);
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return `${prefix}_${id}`;
}

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

function sortedEntries(record: Record<string, string> | undefined): Array<[string, string]> {
  return Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Options of {@link SandboxGateway}. */
export interface SandboxGatewayOptions {
  /** The payments service's own database connection: the sandbox keeps its records there. */
  connection: Connection;
  /** Told, loudly, that no real payment provider is used (a service's {@link Logger}). */
  logger: { warn(fields: object, message: string): void };
}

/**
 * A {@link PaymentGateway} that moves no money, for running the system where neither Stripe nor stripe-mock is
 * available (`PAYMENT_GATEWAY=sandbox`, the local stack's fallback). It answers the way Stripe's test mode does
 * for its documented test tokens: `tok_visa` and the other brand tokens are charged, `tok_chargeDeclined` and
 * its variants are declined with Stripe's `card_error` (the same 402 answer as a Stripe decline, because the
 * same mapping turns it into the gateway's error), any other token is unknown (400 on `token`). Idempotency keys
 * are honoured as Stripe honours them: the first answer for a key (a charge, a decline, a refund) is stored in
 * `sandbox_charges` under that key by one insert, and a request with the same key gets it again — across
 * restarts and replicas — while one with other parameters is refused. Keys never expire here (Stripe forgets
 * them after 24 hours).
 */
export class SandboxGateway implements PaymentGateway {
  private readonly model: Model<SandboxRecord>;
  private indexes: Promise<unknown> | undefined;

  constructor(options: SandboxGatewayOptions) {
    this.model = sandboxRecordModel(options.connection);
    options.logger.warn(
      { gateway: 'sandbox', collection: SANDBOX_COLLECTION },
      'PAYMENT_GATEWAY=sandbox: NO real payment provider is used, no card is charged and no money moves ' +
        '(tok_visa and the other Stripe brand test tokens are approved, tok_chargeDeclined* are declined; ' +
        `records in ${SANDBOX_COLLECTION})`,
    );
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const fingerprint = JSON.stringify([
      'charge',
      request.amountCents,
      request.currency,
      request.token,
      sortedEntries(request.metadata),
    ]);
    const earlier = await this.recordOf(request.idempotencyKey);
    if (earlier) return this.chargeAnswer(this.replay(earlier, fingerprint));

    // Requests Stripe rejects as invalid are not stored under their key (Stripe saves no result for them).
    if (request.amountCents < SANDBOX_MINIMUM_CHARGE_CENTS) {
      throw invalidRequest(
        `Amount must be at least $${(SANDBOX_MINIMUM_CHARGE_CENTS / 100).toFixed(2)} usd`,
        'amount',
        'amount_too_small',
      );
    }
    const decline = SANDBOX_DECLINED_TOKENS[request.token];
    if (!decline && !SANDBOX_APPROVED_TOKENS[request.token]) {
      throw invalidRequest(`No such token: '${request.token}'`, 'source', 'resource_missing');
    }
    const record: SandboxRecord = {
      _id: request.idempotencyKey,
      kind: 'charge',
      fingerprint,
      status: decline ? 'failed' : 'succeeded',
      chargeId: stripeLikeId('ch'),
      amountCents: request.amountCents,
      currency: request.currency,
      token: request.token,
      ...(request.metadata ? { metadata: request.metadata } : {}),
      ...(decline ? { decline } : {}),
      at: new Date(),
    };
    return this.chargeAnswer(await this.remember(record));
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    const fingerprint = JSON.stringify(['refund', request.chargeId]);
    const earlier = await this.recordOf(request.idempotencyKey);
    if (earlier) return { refundId: this.replay(earlier, fingerprint).refundId! };

    const charge = await this.model
      .findOne({ chargeId: request.chargeId, kind: 'charge', status: 'succeeded' })
      .lean<SandboxRecord>();
    if (!charge) throw invalidRequest(`No such charge: '${request.chargeId}'`, 'charge', 'resource_missing');
    // Full refunds only, as the gateway makes them. Two different keys racing for one charge could both pass
    // this check; payments uses one key per order (`refund-<orderId>`), so the race cannot arise here.
    const refunded = await this.model.exists({ chargeId: request.chargeId, kind: 'refund' });
    if (refunded) {
      throw invalidRequest(
        `Charge ${request.chargeId} has already been refunded.`,
        undefined,
        'charge_already_refunded',
      );
    }
    const stored = await this.remember({
      _id: request.idempotencyKey,
      kind: 'refund',
      fingerprint,
      status: 'succeeded',
      chargeId: request.chargeId,
      refundId: stripeLikeId('re'),
      amountCents: charge.amountCents,
      currency: charge.currency,
      at: new Date(),
    });
    return { refundId: stored.refundId! };
  }

  private async recordOf(key: string): Promise<SandboxRecord | null> {
    this.indexes ??= this.model.init();
    await this.indexes;
    return this.model.findById(key).lean<SandboxRecord>();
  }

  /** Stores `record` under its key, or — if a concurrent request stored one first — replays that one. */
  private async remember(record: SandboxRecord): Promise<SandboxRecord> {
    try {
      await this.model.create(record);
      return record;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const winner = await this.model.findById(record._id).lean<SandboxRecord>();
      if (!winner) throw error;
      return this.replay(winner, record.fingerprint);
    }
  }

  /** The stored answer for a repeated key, if the request is the same one; Stripe's idempotency_error if not. */
  private replay(earlier: SandboxRecord, fingerprint: string): SandboxRecord {
    if (earlier.fingerprint !== fingerprint) {
      throw toGatewayError(
        new Stripe.errors.StripeIdempotencyError({
          type: 'idempotency_error',
          statusCode: 400,
          message:
            'Keys for idempotent requests can only be used with the same parameters they were first used ' +
            `with. Try using a key other than '${earlier._id}' if you meant to execute a different request.`,
        }),
      );
    }
    return earlier;
  }

  private chargeAnswer(record: SandboxRecord): ChargeResult {
    if (record.status === 'succeeded') return { chargeId: record.chargeId };
    const decline = record.decline!;
    throw toGatewayError(
      new Stripe.errors.StripeCardError({
        type: 'card_error',
        statusCode: 402,
        code: decline.code,
        decline_code: decline.decline_code,
        message: decline.message,
        param: decline.param,
        charge: record.chargeId,
        doc_url: `https://stripe.com/docs/error-codes/${decline.code.replace(/_/g, '-')}`,
      }),
    );
  }
}

/** Stripe's invalid_request_error (HTTP 400) as the gateway's error. */
function invalidRequest(message: string, param: string | undefined, code: string): Error {
  return toGatewayError(
    new Stripe.errors.StripeInvalidRequestError({
      type: 'invalid_request_error',
      statusCode: 400,
      message,
      code,
      ...(param ? { param } : {}),
    }),
  );
}
