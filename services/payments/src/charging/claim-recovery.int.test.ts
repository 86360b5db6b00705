// A process that dies after taking an order's claim but before recording its payment leaves the claim behind.
// These tests leave such claims the way a crash would (inserted directly, older than the grace period, with or
// without the charge having reached the gateway) and check that whoever meets one next finishes it through the
// idempotency key. They charge through the test kit's Stripe sandbox: it honours idempotency keys as Stripe does
// (stripe-mock does not), so "exactly one charge" is something the test can see fail.
import { type EventData, type RunningService, startService } from '@ticketing/common';
import {
  eventually,
  type MongoHandle,
  missingEvents,
  type NatsServerHandle,
  objectId,
  readStream,
  type StripeSandbox,
  signTestUser,
  startMongo,
  startNats,
  startStripeSandbox,
} from '@ticketing/testing';
import { Types } from 'mongoose';
import request from 'supertest';
import { paymentsService, stripeGatewayFromConfig } from '../app';
import type { PaymentsConfig } from '../config';
import type { PaymentClaim } from '../models/claims';
import { fastListeners, orderCreated, sandboxEnv, storesOf } from '../test-support/fixtures';
import { chargeRequestOf } from './order-charge';

let nats: NatsServerHandle;
let mongo: MongoHandle;
let sandbox: StripeSandbox;
let running: RunningService<PaymentsConfig>;

const GRACE_SECONDS = 60; // the default, stated here because the claims below are aged against it

beforeAll(async () => {
  [nats, mongo, sandbox] = await Promise.all([startNats(), startMongo(), startStripeSandbox()]);
  running = await startService(
    { ...paymentsService, tuning: { listeners: fastListeners } },
    {
      env: sandboxEnv(nats, mongo, sandbox, { PAYMENT_CLAIM_GRACE_SECONDS: String(GRACE_SECONDS) }),
      listen: false,
    },
  );
});

afterAll(async () => {
  await running?.stop();
  await sandbox?.close();
  await mongo?.stop();
  await nats?.close();
});

const models = () => storesOf(running);

/** Publishes `order.created` for a new order of `userId` and waits until the replica has it. */
async function seedOrder(userId: string, price = 20): Promise<EventData<'order.created'>> {
  const event = orderCreated({ userId, ticket: { id: objectId(), price } });
  await running.context.bus.publish('order.created', event);
  await eventually(async () => expect(await models().orders.get(event.id)).not.toBeNull());
  return event;
}

/**
 * Leaves the claim a process that died mid-charge leaves: taken `ageSeconds` ago, no payment. With
 * `charged`, its charge reached the gateway before the crash (made by another gateway instance: that process).
 */
async function abandonedClaim(
  order: EventData<'order.created'>,
  options: { token?: string; ageSeconds?: number; charged?: boolean } = {},
): Promise<{ claim: PaymentClaim; chargeId?: string }> {
  const claim: PaymentClaim = {
    _id: order.id,
    paymentId: new Types.ObjectId().toHexString(),
    userId: order.userId,
    token: options.token ?? 'tok_visa',
    amountCents: Math.round(order.ticket.price * 100),
    currency: 'usd',
    at: new Date(Date.now() - (options.ageSeconds ?? 2 * GRACE_SECONDS) * 1000),
  };
  await models().claims.collection.insertOne(claim as never);
  if (!options.charged) return { claim };
  const crashed = stripeGatewayFromConfig(running.context.config);
  const { chargeId } = await crashed.charge(chargeRequestOf(claim));
  return { claim, chargeId };
}

/** What the sandbox recorded for an order: its charge attempts (by the charge metadata) and their refunds. */
function sandboxRecordsOf(orderId: string) {
  const charges = sandbox.charges().filter((charge) => charge.metadata.orderId === orderId);
  const refunds = sandbox.refunds().filter((refund) => charges.some((charge) => charge.id === refund.charge));
  return { charges, refunds };
}

async function paymentEventsOf(orderId: string) {
  const messages = await readStream({ servers: nats.url, stream: 'PAYMENTS', filter: 'payment.created' });
  return messages
    .map((message) => message.data as EventData<'payment.created'>)
    .filter((data) => data.orderId === orderId);
}

/** Waits until the payment's `payment.created` is published, then returns every one the stream has for the order. */
async function publishedPaymentEvents(orderId: string, paymentId: string) {
  await eventually(async () => {
    const history = await models().payments.history(paymentId);
    const stream = await readStream({ servers: nats.url, stream: 'PAYMENTS' });
    expect(history[0]?.events).toEqual([expect.objectContaining({ subject: 'payment.created' })]);
    expect(missingEvents(history, stream)).toEqual([]);
  });
  return paymentEventsOf(orderId);
}

function pay(cookie: string, orderId: string, token = 'tok_visa') {
  return request(running.app).post('/api/payments').set('Cookie', cookie).send({ orderId, token });
}

it('resumes a stale claim whose charge went through before the crash: that charge is recorded, none added', async () => {
  const buyer = signTestUser();
  const order = await seedOrder(buyer.user.id, 42.5);
  const { claim, chargeId } = await abandonedClaim(order, { charged: true });

  const response = await pay(buyer.cookie, order.id, 'tok_mastercard');

  expect(response.status).toBe(409);
  expect(response.body.errors[0].message).toMatch(/already paid/i);
  const { charges } = sandboxRecordsOf(order.id);
  expect(charges).toHaveLength(1);
  expect(charges[0]).toMatchObject({ id: chargeId, token: 'tok_visa', amount: 4250, status: 'succeeded' });
  const stored = await models().payments.find({ orderId: order.id });
  expect(stored).toEqual([
    expect.objectContaining({
      _id: claim.paymentId,
      chargeId,
      amountCents: 4250,
      status: 'paid',
      version: 0,
    }),
  ]);
  expect(await publishedPaymentEvents(order.id, claim.paymentId)).toEqual([
    { id: claim.paymentId, version: 0, orderId: order.id, chargeId },
  ]);
  expect(await models().claims.countDocuments({ _id: order.id })).toBe(1);

  // Met again: nothing more happens.
  const again = await pay(buyer.cookie, order.id);
  expect(again.status).toBe(409);
  expect(sandboxRecordsOf(order.id).charges).toHaveLength(1);
  expect(await paymentEventsOf(order.id)).toHaveLength(1);
});

it('resumes a stale claim whose charge never left: charged now, once, even by two requests at the same time', async () => {
  const buyer = signTestUser();
  const order = await seedOrder(buyer.user.id);
  const { claim } = await abandonedClaim(order);

  const responses = await Promise.all([pay(buyer.cookie, order.id), pay(buyer.cookie, order.id)]);

  expect(responses.map((r) => r.status)).toEqual([409, 409]);
  expect(responses.every((r) => /already paid/i.test(r.body.errors[0].message))).toBe(true);
  const { charges } = sandboxRecordsOf(order.id);
  expect(charges).toHaveLength(1);
  expect(await (await models().payments.find({ orderId: order.id })).length).toBe(1);
  const events = await publishedPaymentEvents(order.id, claim.paymentId);
  expect(events).toEqual([{ id: claim.paymentId, version: 0, orderId: order.id, chargeId: charges[0]!.id }]);
});

it('leaves a claim younger than the grace period to its charger: 409 in progress, nothing charged', async () => {
  const buyer = signTestUser();
  const order = await seedOrder(buyer.user.id);
  await abandonedClaim(order, { ageSeconds: GRACE_SECONDS / 2 });

  const response = await pay(buyer.cookie, order.id);

  expect(response.status).toBe(409);
  expect(response.body.errors[0].message).toMatch(/in progress/i);
  expect(sandboxRecordsOf(order.id).charges).toHaveLength(0);
  expect(await (await models().payments.find({ orderId: order.id })).length).toBe(0);
});

it('releases a stale claim whose card is declined, recording nothing', async () => {
  const buyer = signTestUser();
  const order = await seedOrder(buyer.user.id);
  await abandonedClaim(order, { token: 'tok_chargeDeclined' });

  // The resumed charge is declined, which frees the order; this attempt (its own key) is then declined too.
  const response = await pay(buyer.cookie, order.id, 'tok_chargeDeclined');

  expect(response.status).toBe(402);
  expect(await models().claims.countDocuments({ _id: order.id })).toBe(0);
  expect(await (await models().payments.find({ orderId: order.id })).length).toBe(0);
  const { charges } = sandboxRecordsOf(order.id);
  expect(charges).toEqual([
    expect.objectContaining({ status: 'failed' }),
    expect.objectContaining({ status: 'failed' }),
  ]);
  // A declined buyer can pay with another card: each attempt has its own idempotency key.
  expect((await pay(buyer.cookie, order.id, 'tok_visa')).status).toBe(201);
});

it('resumes a stale claim met by order.cancelled: records the charge, its payment.created, then refunds it', async () => {
  const buyer = signTestUser();
  const order = await seedOrder(buyer.user.id);
  const { claim, chargeId } = await abandonedClaim(order, { charged: true });

  await running.context.bus.publish('order.cancelled', { id: order.id, version: 1, ticket: order.ticket });

  await eventually(async () =>
    expect(await models().payments.get(claim.paymentId)).toMatchObject({
      orderId: order.id,
      chargeId,
      status: 'refunded',
      refundId: expect.stringMatching(/^re_/),
      version: 1,
    }),
  );
  const { charges, refunds } = sandboxRecordsOf(order.id);
  expect(charges).toHaveLength(1);
  const refundId = (await models().payments.get(claim.paymentId))?.refundId;
  expect(refunds).toEqual([{ id: refundId, charge: chargeId, amount: 2000 }]);
  expect(await (await models().payments.find({ orderId: order.id })).length).toBe(1);
  expect(await publishedPaymentEvents(order.id, claim.paymentId)).toEqual([
    { id: claim.paymentId, version: 0, orderId: order.id, chargeId },
  ]);
});
