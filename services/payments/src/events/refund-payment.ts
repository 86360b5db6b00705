import { type AggregateStore, VersionConflictError } from '@ticketing/common';
import type { Model } from 'mongoose';
import type { PaymentGateway } from '../gateway/payment-gateway';
import type { PaymentClaim, PaymentState } from '../models/payment';

/** The order's charge is still in flight; the refund is retried once it settled (paid, or failed and released). */
export class PaymentNotSettledError extends Error {
  override readonly name = 'PaymentNotSettledError';
  /** Stable code for callers and logs. */
  readonly code = 'PAYMENT_NOT_SETTLED';
  constructor(readonly orderId: string) {
    super(`payment of order ${orderId} is still being charged; the refund check will be retried`);
  }
}

/** What {@link refundPaymentOfOrder} found and did. */
export type RefundOutcome = 'no-payment' | 'refunded' | 'already-refunded';

/** What a refund needs. */
export interface RefundDeps {
  claims: Model<PaymentClaim>;
  payments: AggregateStore<PaymentState>;
  gateway: PaymentGateway;
}

/**
 * Returns the money of a cancelled order (DESIGN.md rule 3: a payment that lands on a cancelled order is refunded)
 * and records it as the payment's version 1. Idempotent: the gateway sees the same key (`refund-<orderId>`) on
 * every attempt, and a recorded refund is final. Throws {@link PaymentNotSettledError} while a charge is in flight.
 */
export async function refundPaymentOfOrder(deps: RefundDeps, orderId: string): Promise<RefundOutcome> {
  const claim = await deps.claims.findById(orderId).lean<PaymentClaim>();
  if (!claim) return 'no-payment';
  let payment = await deps.payments.get(claim.paymentId);
  // A writer that died between its claim and its head: roll the head forward once it is safe to.
  if (!payment && (await deps.payments.repairHead(claim.paymentId, 0))) {
    payment = await deps.payments.get(claim.paymentId);
  }
  if (!payment) throw new PaymentNotSettledError(orderId);
  if (payment.status === 'refunded') return 'already-refunded';

  const { refundId } = await deps.gateway.refund({
    chargeId: payment.chargeId,
    idempotencyKey: `refund-${orderId}`,
  });
  try {
    await deps.payments.update(payment, { status: 'refunded', refundId, refundedAt: new Date() });
  } catch (error) {
    if (!(error instanceof VersionConflictError)) throw error;
    // A concurrent delivery recorded it first (the gateway gave it the same refund): done, or retry if not.
    const now = await deps.payments.get(claim.paymentId);
    if (now?.status !== 'refunded') throw error;
    return 'already-refunded';
  }
  return 'refunded';
}
