import { AggregateStore } from '@ticketing/common';
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

/** `paid`: charged, `payment.created` emitted (version 0); `refunded`: the order was cancelled meanwhile (version 1). */
export type PaymentStatus = 'paid' | 'refunded';

/** A payment: the record that an order's charge happened, and its refund if any. */
export interface PaymentState {
  orderId: string;
  userId: string;
  /** What was charged, in cents. */
  amountCents: number;
  currency: 'usd';
  status: PaymentStatus;
  /** Gateway charge id. */
  chargeId: string;
  /** Gateway refund id, once refunded. */
  refundId?: string;
  paidAt: Date;
  refundedAt?: Date;
}

/** The head document of a payment (`_id` = payment id, a 24-hex string). */
export type PaymentHead = PaymentState & { _id: string; version: number };

const paymentSchema = new Schema<PaymentHead>(
  {
    _id: { type: String, required: true },
    orderId: { type: String, required: true, unique: true },
    userId: { type: String, required: true },
    amountCents: { type: Number, required: true },
    currency: { type: String, required: true, enum: ['usd'] },
    status: { type: String, required: true, enum: ['paid', 'refunded'] },
    chargeId: { type: String, required: true },
    refundId: { type: String },
    paidAt: { type: Date, required: true },
    refundedAt: { type: Date },
    version: { type: Number, required: true },
  },
  { versionKey: false },
);

/** Payments: heads in `payments`, every version (and the `payment.created` outbox) in `payments_changes`. */
export function paymentStore(connection: Connection): AggregateStore<PaymentState> {
  const model =
    (connection.models.Payment as Model<PaymentHead> | undefined) ??
    connection.model<PaymentHead>('Payment', paymentSchema);
  // The store types heads by their state; our heads add a string `_id` (the aggregate id), which it keeps as is.
  return new AggregateStore<PaymentState>(model as unknown as Model<PaymentState & { version: number }>);
}

/**
 * The one-payment-per-order lock: inserted (unique `_id` = order id) before the gateway is called, so of several
 * concurrent attempts exactly one charges; deleted again when the charge is refused, kept once it succeeded.
 * It carries the charge's exact parameters, so a claim left by a process that died mid-charge can be resumed:
 * the same request under the same idempotency key gets the original charge back from the provider.
 */
export interface PaymentClaim {
  /** The order id (and the charge's idempotency key). */
  _id: string;
  /** The id the payment gets (or got) when the charge succeeds. */
  paymentId: string;
  userId: string;
  /** The card token charged. Claims written before recovery existed lack the charge parameters. */
  token?: string;
  /** The amount charged, in cents. */
  amountCents?: number;
  currency?: 'usd';
  /** When the claim was taken: claims older than the grace period without a payment are resumed. */
  at: Date;
}

const paymentClaimSchema = new Schema<PaymentClaim>(
  {
    _id: { type: String, required: true },
    paymentId: { type: String, required: true },
    userId: { type: String, required: true },
    token: { type: String },
    amountCents: { type: Number },
    currency: { type: String, enum: ['usd'] },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);

/** The payment claims model on `connection` (registered on first use). */
export function paymentClaimModel(connection: Connection): Model<PaymentClaim> {
  return (
    (connection.models.PaymentClaim as Model<PaymentClaim> | undefined) ??
    connection.model<PaymentClaim>('PaymentClaim', paymentClaimSchema)
  );
}
