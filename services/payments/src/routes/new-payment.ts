import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  type Logger,
  NotFoundError,
  newEvent,
  objectIdSchema,
  requireAuth,
  validate,
} from '@ticketing/common';
import type { Express } from 'express';
import { Types } from 'mongoose';
import { z } from 'zod';
import {
  InvalidPaymentTokenError,
  PaymentDeclinedError,
  type PaymentGateway,
} from '../gateway/payment-gateway';
import type { PaymentsModels } from '../models/models';
import type { OrderState } from '../models/order';
import { BadGatewayError, PaymentRequiredError } from './http-errors';

/** Body of `POST /api/payments`. */
export const newPaymentBodySchema = z.object({
  orderId: objectIdSchema,
  token: z
    .string()
    .max(255, 'must be at most 255 characters')
    .regex(/^\S+$/, 'must be a card token without spaces'),
});

/** What the payment route works with. */
export interface NewPaymentDeps {
  models: PaymentsModels;
  gateway: PaymentGateway;
  logger: Logger;
}

/** Cents for a price in major units; the catalog allows at most two decimals, so rounding only removes float noise. */
export function toCents(price: number): number {
  return Math.round(price * 100);
}

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

function refusalFor(order: OrderState): ConflictError | undefined {
  if (order.status === 'cancelled') return new ConflictError('Order is cancelled', 'orderId');
  if (order.status === 'complete') return new ConflictError('Order is already paid', 'orderId');
  return undefined;
}

/**
 * Mounts `POST /api/payments {orderId, token}` → 201 {id}. A claim on the order (unique key = order id) is
 * inserted before the gateway is called, so of several concurrent attempts exactly one charges and the others get
 * 409 without touching the card. A failed charge removes the claim; a successful one creates the payment with
 * its `payment.created` in one insert.
 */
export function mountNewPayment(app: Express, deps: NewPaymentDeps): void {
  const { models, gateway, logger } = deps;

  app.post('/api/payments', requireAuth, validate({ body: newPaymentBodySchema }), async (req, res) => {
    const { orderId, token } = req.body as z.infer<typeof newPaymentBodySchema>;
    const user = req.currentUser!;

    const order = await models.orders.get(orderId);
    if (!order) throw new NotFoundError('Order not found');
    if (order.userId !== user.id) throw new ForbiddenError('This order belongs to someone else');
    const refusal = refusalFor(order);
    if (refusal) throw refusal;

    const paymentId = new Types.ObjectId().toHexString();
    try {
      await models.claims.create({ _id: orderId, paymentId, userId: user.id, at: new Date() });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const paid = await models.payments.model.exists({ orderId });
      throw new ConflictError(
        paid ? 'Order is already paid' : 'A payment for this order is already in progress',
        'orderId',
      );
    }
    const release = () => models.claims.deleteOne({ _id: orderId, paymentId });

    // The cancel listener looks for a claim after marking the order cancelled; reading the order again after
    // our claim means one of us always sees the other: either we see the cancel here, or it sees our claim.
    const current = await models.orders.get(orderId);
    const lateRefusal = current ? refusalFor(current) : undefined;
    if (lateRefusal) {
      await release();
      throw lateRefusal;
    }

    const amountCents = toCents(order.price);
    let chargeId: string;
    try {
      ({ chargeId } = await gateway.charge({ amountCents, currency: 'usd', token, idempotencyKey: orderId }));
    } catch (error) {
      await release();
      if (error instanceof PaymentDeclinedError) throw new PaymentRequiredError(error.message);
      if (error instanceof InvalidPaymentTokenError) throw new BadRequestError(error.message, 'token');
      logger.error({ err: error, orderId }, 'payment gateway failed');
      throw new BadGatewayError('The payment provider could not be reached; nothing was recorded, try again');
    }

    try {
      await models.payments.create(
        paymentId,
        {
          orderId,
          userId: user.id,
          amountCents,
          currency: 'usd',
          status: 'paid',
          chargeId,
          paidAt: new Date(),
        },
        [newEvent('payment.created', { id: paymentId, version: 0, orderId, chargeId })],
      );
    } catch (error) {
      // The card is charged and the claim stays: the order cannot be charged twice, and the log names the charge.
      logger.error(
        { err: error, orderId, chargeId, paymentId },
        'charge made but the payment was not recorded',
      );
      throw error;
    }
    res.status(201).json({ id: paymentId });
  });
}
