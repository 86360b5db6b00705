import { type Model, Schema } from 'mongoose';

/**
 * The one-payment-per-order lock: inserted (unique `_id` = order id) before the gateway is called, so of several
 * concurrent attempts exactly one charges; deleted again when the charge is refused, kept once it succeeded.
 * It carries the charge's exact parameters, so a claim left by a process that died mid-charge can be resumed:
 * the same request under the same idempotency key gets the original charge back from the provider.
 */
export interface PaymentClaim {
  _id: string;
  /** The id the payment gets (or got) when the charge succeeds. */
  paymentId: string;
  userId: string;
  /** The card token charged. Claims written before recovery existed lack the charge parameters. */
  token?: string;
  amountCents?: number;
  currency?: 'usd';
  /** When the claim was taken: claims older than the grace period without a payment are resumed. */
  at: Date;
}

/** The schema of the claims (a plain model: a lock, not a versioned aggregate). */
export const paymentClaimSchema = new Schema<PaymentClaim>(
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

export type PaymentClaimModel = Model<PaymentClaim>;
