import { AggregateExistsError, type Logger } from '@ticketing/common';
import type { Payment, PaymentStore } from '../domain/payment';
import {
  type ChargeRequest,
  InvalidPaymentTokenError,
  PaymentDeclinedError,
  type PaymentGateway,
} from '../gateway/payment-gateway';
import type { PaymentClaim, PaymentClaimModel } from '../models/claims';

/** What charging an order, and finishing an abandoned charge, needs. */
export interface ChargeDeps {
  claims: PaymentClaimModel;
  payments: PaymentStore;
  gateway: PaymentGateway;
  logger: Logger;
  /** Age, in ms, from which a claim without a payment is taken as abandoned by a process that died. */
  claimGraceMs: number;
}

/**
 * How long a claim can still be resumed, in ms. Stripe remembers an idempotency key for at least 24 hours;
 * past that, re-issuing the charge could charge the card a second time, so an older claim is left to a human.
 */
export const CLAIM_RESUMABLE_FOR_MS = 23 * 60 * 60 * 1000;

/** A claim without a payment that cannot be finished automatically: someone must reconcile it at the provider. */
export class ClaimNotResumableError extends Error {
  override readonly name = 'ClaimNotResumableError';
  readonly code = 'PAYMENT_CLAIM_NOT_RESUMABLE';
  constructor(
    readonly orderId: string,
    reason: string,
  ) {
    super(`payment claim of order ${orderId} cannot be resumed: ${reason}; reconcile it with the provider`);
  }
}

export type ResumeOutcome = 'paid' | 'released';

export function claimAgeMs(claim: Pick<PaymentClaim, 'at'>, now = Date.now()): number {
  return now - new Date(claim.at).getTime();
}

/**
 * The gateway request of a claim: the same every time it is built, so a re-issue under the claim's idempotency
 * key is the same request and the provider answers it with the original charge.
 *
 * The key is the order id plus the claim's payment id: one key per claimed attempt. A resumed claim re-uses it
 * (no second charge), a double click never gets that far (the claim is unique per order), and a buyer whose card
 * was declined can try another card — with the bare order id, Stripe would replay the decline for 24 hours.
 */
export function chargeRequestOf(claim: PaymentClaim): ChargeRequest {
  if (claim.token === undefined || claim.amountCents === undefined) {
    throw new ClaimNotResumableError(claim._id, 'it was written without its charge parameters');
  }
  return {
    amountCents: claim.amountCents,
    currency: claim.currency ?? 'usd',
    token: claim.token,
    idempotencyKey: idempotencyKeyOf(claim),
    metadata: { orderId: claim._id },
  };
}

/** The provider's idempotency key of a claimed attempt (see {@link chargeRequestOf}). */
export function idempotencyKeyOf(claim: Pick<PaymentClaim, '_id' | 'paymentId'>): string {
  return `${claim._id}-${claim.paymentId}`;
}

/** True once the claim's payment is recorded, even if its writer died before the rest of its work. */
export function isRecorded(deps: Pick<ChargeDeps, 'payments'>, claim: PaymentClaim): Promise<boolean> {
  return deps.payments.exists(claim.paymentId);
}

/** The claim's payment, or null if there is none (yet). */
export function paymentOfClaim(
  deps: Pick<ChargeDeps, 'payments'>,
  claim: PaymentClaim,
): Promise<Payment | null> {
  return deps.payments.get(claim.paymentId);
}

/**
 * Records the payment of a charged claim: version 0 and its `payment.created`, one insert. Whoever records a
 * claim's payment uses the claim's payment id, so when the route and a resumer both get the charge, exactly one
 * insert wins and the other finds it done.
 */
export async function recordPayment(
  deps: Pick<ChargeDeps, 'payments'>,
  claim: PaymentClaim,
  chargeId: string,
): Promise<void> {
  const { amountCents } = chargeRequestOf(claim);
  const { _id: orderId, paymentId } = claim;
  try {
    await deps.payments.create(
      paymentId,
      {
        orderId,
        userId: claim.userId,
        amountCents,
        currency: 'usd',
        status: 'paid',
        chargeId,
        paidAt: new Date(),
      },
      [{ subject: 'payment.created', data: { id: paymentId, orderId, chargeId } }],
    );
  } catch (error) {
    if (!(error instanceof AggregateExistsError)) throw error;
  }
}

/** Removes a claim, only the one with this payment id (a newer attempt's claim is not ours to remove). */
export async function releaseClaim(deps: Pick<ChargeDeps, 'claims'>, claim: PaymentClaim): Promise<void> {
  await deps.claims.deleteOne({ _id: claim._id, paymentId: claim.paymentId });
}

/**
 * Finishes a claim whose charger died between taking it and recording the payment (the caller checked it is
 * older than the grace period). The charge is re-issued exactly as the claim describes it, under the same
 * idempotency key: if the first request reached the provider, the provider answers with that charge and charges
 * nothing more; if it never did, the card is charged now, once. A charge is recorded as the normal path records
 * it (payment + `payment.created`); a refused card releases the claim. Gateway failures are thrown: the claim
 * stays for the next one to meet it.
 */
export async function resumeClaim(deps: ChargeDeps, claim: PaymentClaim): Promise<ResumeOutcome> {
  if (await isRecorded(deps, claim)) return 'paid';
  const request = chargeRequestOf(claim);
  if (claimAgeMs(claim) > CLAIM_RESUMABLE_FOR_MS) {
    throw new ClaimNotResumableError(claim._id, 'the provider no longer remembers its idempotency key');
  }
  const context = { orderId: claim._id, paymentId: claim.paymentId, claimedAt: claim.at };
  deps.logger.warn(context, 'resuming a payment claim left without a payment (its charger stopped)');
  let chargeId: string;
  try {
    ({ chargeId } = await deps.gateway.charge(request));
  } catch (error) {
    if (error instanceof PaymentDeclinedError || error instanceof InvalidPaymentTokenError) {
      await releaseClaim(deps, claim);
      deps.logger.info(
        { ...context, reason: error.message },
        'abandoned payment claim released: not charged',
      );
      return 'released';
    }
    throw error;
  }
  await recordPayment(deps, claim, chargeId);
  deps.logger.warn({ ...context, chargeId }, 'abandoned payment claim resumed: payment recorded');
  return 'paid';
}
