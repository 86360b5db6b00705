import {
  type ApiRouter,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  priceInCents,
} from '@ticketing/common';
import { Types } from 'mongoose';
import {
  type ChargeDeps,
  ClaimNotResumableError,
  chargeRequestOf,
  claimAgeMs,
  isRecorded,
  recordPayment,
  releaseClaim,
  resumeClaim,
} from '../charging/order-charge';
import { type OrderCopy, type OrderCopyStore, paymentRefusal } from '../domain/payment';
import {
  InvalidPaymentTokenError,
  PaymentDeclinedError,
  PaymentGatewayError,
} from '../gateway/payment-gateway';
import type { PaymentClaim } from '../models/claims';
import { BadGatewayError, PaymentRequiredError } from './http-errors';
import { newPaymentBodySchema, paymentCreatedSchema } from './schemas';

export interface NewPaymentDeps extends ChargeDeps {
  orders: OrderCopyStore;
}

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

function refusalFor(order: OrderCopy): ConflictError | undefined {
  const refusal = paymentRefusal(order);
  if (refusal === 'cancelled') return new ConflictError('Order is cancelled', 'orderId');
  if (refusal === 'paid') return new ConflictError('Order is already paid', 'orderId');
  return undefined;
}

/** Inserts the claim; false when the order has one already (the unique `_id` is the lock). */
async function insertClaim(deps: NewPaymentDeps, claim: PaymentClaim): Promise<boolean> {
  try {
    await deps.claims.create(claim);
    return true;
  } catch (error) {
    if (isDuplicateKey(error)) return false;
    throw error;
  }
}

const alreadyPaid = () => new ConflictError('Order is already paid', 'orderId');
const inProgress = () => new ConflictError('A payment for this order is already in progress', 'orderId');

/** A gateway failure as the route answers it (502), logged with the order. */
function badGateway(deps: NewPaymentDeps, error: unknown, orderId: string): BadGatewayError {
  deps.logger.error({ err: error, orderId }, 'payment gateway failed');
  return new BadGatewayError(
    'The payment provider did not answer; this attempt is settled automatically shortly (paid if the card was charged), do not pay again meanwhile',
  );
}

/**
 * Takes the order's claim for `claim`. Another live attempt's claim is a 409; one older than the grace period
 * without a payment was left by a process that died mid-charge: it is finished first (same idempotency key, so
 * never a second charge) — paid is a 409, a refused card frees the claim for this attempt.
 */
async function takeClaim(deps: NewPaymentDeps, claim: PaymentClaim): Promise<void> {
  if (await insertClaim(deps, claim)) return;
  const holder = await deps.claims.findById(claim._id).lean<PaymentClaim>();
  // Released between our insert and our read: the order is free to claim once more.
  if (!holder) {
    if (await insertClaim(deps, claim)) return;
    throw inProgress();
  }
  if (
    (await isRecorded(deps, holder)) ||
    (await deps.payments.find({ orderId: claim._id }, { limit: 1 })).length > 0
  ) {
    throw alreadyPaid();
  }
  if (claimAgeMs(holder) < deps.claimGraceMs) throw inProgress();
  let outcome: Awaited<ReturnType<typeof resumeClaim>>;
  try {
    outcome = await resumeClaim(deps, holder);
  } catch (error) {
    if (error instanceof PaymentGatewayError) throw badGateway(deps, error, claim._id);
    if (error instanceof ClaimNotResumableError) {
      deps.logger.error({ err: error, orderId: claim._id }, 'payment claim needs reconciliation');
      throw new ConflictError('A payment for this order needs checking by support', 'orderId');
    }
    throw error;
  }
  if (outcome === 'paid') throw alreadyPaid();
  // The dead charger's card was refused and its claim released: this attempt may have the order now.
  if (!(await insertClaim(deps, claim))) throw inProgress();
}

/**
 * Declares `POST /api/payments {orderId, token}` → 201 {id}. A claim on the order (unique key = order id, with
 * the charge's parameters) is inserted before the gateway is called, so of several concurrent attempts exactly
 * one charges and the others get 409 without touching the card. A refused charge removes the claim, a failed one
 * (outcome unknown) leaves it to the recovery; a successful
 * one creates the payment with its `payment.created` in one insert. A claim that outlives its charger is resumed
 * by the next one to meet it (see {@link resumeClaim}).
 */
export function declareNewPayment(api: ApiRouter, deps: NewPaymentDeps): void {
  const { orders, gateway } = deps;

  api.route({
    method: 'post',
    path: '/api/payments',
    operationId: 'createPayment',
    summary: 'Pay an order: charge the card token for the order’s price and record the payment',
    auth: 'required',
    body: newPaymentBodySchema,
    responses: {
      201: { description: 'Charged and recorded; `payment.created` follows', schema: paymentCreatedSchema },
      402: 'The card was declined (`field: "token"`); nothing was charged, another card may be tried',
      403: 'The order belongs to someone else',
      404: 'No such order (waited for up to REPLICA_WAIT_MS for an order just placed)',
      409: 'The order is cancelled, already paid, or another payment of it is in progress',
      502:
        'The payment provider failed or did not answer; the attempt is settled automatically within the grace ' +
        'period (paid if the provider charged the card), do not pay again meanwhile',
    },
    handler: async (req, res) => {
      const { orderId, token } = req.body;
      const user = req.currentUser!;

      // Read-your-writes: an order placed a moment ago may still be on its way here.
      const order = await orders.waitFor(orderId);
      if (!order) throw new NotFoundError('Order not found');
      if (order.userId !== user.id) throw new ForbiddenError('This order belongs to someone else');
      const refusal = refusalFor(order);
      if (refusal) throw refusal;

      const claim: PaymentClaim = {
        _id: orderId,
        paymentId: new Types.ObjectId().toHexString(),
        userId: user.id,
        token,
        amountCents: priceInCents(order.price),
        currency: 'usd',
        at: new Date(),
      };
      await takeClaim(deps, claim);

      // The cancel listener looks for a claim after marking the order cancelled; reading the order again after
      // our claim means one of us always sees the other: either we see the cancel here, or it sees our claim.
      const current = await orders.get(orderId);
      const lateRefusal = current ? refusalFor(current) : undefined;
      if (lateRefusal) {
        await releaseClaim(deps, claim);
        throw lateRefusal;
      }

      let chargeId: string;
      try {
        ({ chargeId } = await gateway.charge(chargeRequestOf(claim)));
      } catch (error) {
        const refused = error instanceof PaymentDeclinedError || error instanceof InvalidPaymentTokenError;
        // Only a refusal proves nothing was charged. After any other failure (a timeout may come after the provider
        // took the charge) the claim stays: a new attempt would carry a new idempotency key and could charge
        // twice, so the recovery re-issues this very request under its key once the grace period has passed.
        // A resumer may own a claim past the grace period; half of it leaves a wide margin before one can start.
        if (refused && claimAgeMs(claim) < deps.claimGraceMs / 2) await releaseClaim(deps, claim);
        if (error instanceof PaymentDeclinedError) throw new PaymentRequiredError(error.message);
        if (error instanceof InvalidPaymentTokenError) throw new BadRequestError(error.message, 'token');
        throw badGateway(deps, error, orderId);
      }

      try {
        await recordPayment(deps, claim, chargeId);
      } catch (error) {
        // The card is charged and the claim stays: the order cannot be charged twice, and once the grace period
        // has passed the next one to meet the claim records this very charge (same idempotency key).
        deps.logger.error(
          { err: error, orderId, chargeId, paymentId: claim.paymentId },
          'charge made but the payment was not recorded yet; the claim will be resumed',
        );
        throw error;
      }
      res.status(201).json({ id: claim.paymentId });
    },
  });
}
