import { PoisonMessageError } from '@ticketing/common';
import {
  type ChargeDeps,
  ClaimNotResumableError,
  claimAgeMs,
  isRecorded,
  paymentOfClaim,
  resumeClaim,
} from '../charging/order-charge';
import type { PaymentClaim } from '../models/claims';

/** The order's charge is still in flight; the refund is retried once it settled (paid, or failed and released). */
export class PaymentNotSettledError extends Error {
  override readonly name = 'PaymentNotSettledError';
  readonly code = 'PAYMENT_NOT_SETTLED';
  constructor(readonly orderId: string) {
    super(`payment of order ${orderId} is still being charged; the refund check will be retried`);
  }
}

export type RefundOutcome = 'no-payment' | 'refunded' | 'already-refunded';

/** What a refund needs: the charging dependencies, as a refund may first have to finish an abandoned charge. */
export type RefundDeps = ChargeDeps;

/**
 * Returns the money of a cancelled order (a payment that lands on a cancelled order is refunded)
 * and records it as the payment's version 1. Idempotent: the gateway sees the same key (`refund-<orderId>`) on
 * every attempt, and a recorded refund is final. A claim without a payment is a charge in flight
 * ({@link PaymentNotSettledError}, retried) until the grace period has passed; then its charger is taken for dead
 * and the charge is resumed under its idempotency key (recorded with its `payment.created`), then refunded.
 */
export async function refundPaymentOfOrder(deps: RefundDeps, orderId: string): Promise<RefundOutcome> {
  const claim = await deps.claims.findById(orderId).lean<PaymentClaim>();
  if (!claim) return 'no-payment';
  let payment = await paymentOfClaim(deps, claim);
  if (!payment) {
    if (!(await isRecorded(deps, claim))) {
      if (claimAgeMs(claim) < deps.claimGraceMs) throw new PaymentNotSettledError(orderId);
      let outcome: Awaited<ReturnType<typeof resumeClaim>>;
      try {
        outcome = await resumeClaim(deps, claim);
      } catch (error) {
        // Retrying cannot help: dead-letter it now, with the reason, for whoever reconciles it.
        if (error instanceof ClaimNotResumableError)
          throw new PoisonMessageError(error.message, { cause: error });
        throw error;
      }
      if (outcome === 'released') return 'no-payment';
    }
    payment = await paymentOfClaim(deps, claim);
    if (!payment) throw new PaymentNotSettledError(orderId);
  }
  if (payment.status === 'refunded') return 'already-refunded';

  const { refundId } = await deps.gateway.refund({
    chargeId: payment.chargeId,
    idempotencyKey: `refund-${orderId}`,
  });
  const { changed } = await deps.payments.decide(claim.paymentId, (current) =>
    // A concurrent delivery may have recorded it first: the gateway gave it the same refund (same key).
    current && current.status !== 'refunded'
      ? { state: { ...current, status: 'refunded', refundId, refundedAt: new Date() } }
      : undefined,
  );
  if (!changed) return 'already-refunded';
  return 'refunded';
}
