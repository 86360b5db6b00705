// Gateway failures through the whole service. An unreachable Stripe is real (a closed port). A decline comes from
// the test kit's Stripe sandbox over HTTP, since stripe-mock cannot decline a card (stripe/stripe-mock#158).
import { type Env, type EventData, type RunningService, startService } from '@ticketing/common';
import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  readStream,
  type StripeSandbox,
  signTestUser,
  startMongo,
  startNats,
  startStripeSandbox,
} from '@ticketing/testing';
import request from 'supertest';
import { paymentsService } from '../app';
import type { PaymentsConfig } from '../config';
import { fastListeners, orderCreated, paymentsEnv, sandboxEnv, storesOf } from '../test-support/fixtures';
import { closedPort } from '../test-support/servers';

type Running = RunningService<PaymentsConfig>;

let nats: NatsServerHandle;
let mongo: MongoHandle;
let sandbox: StripeSandbox;
const buyer = signTestUser();
const unreachableOrder = orderCreated({ userId: buyer.user.id });
const declinedOrder = orderCreated({ userId: buyer.user.id });
const unknownTokenOrder = orderCreated({ userId: buyer.user.id });

beforeAll(async () => {
  [nats, mongo, sandbox] = await Promise.all([startNats(), startMongo(), startStripeSandbox()]);
});

afterAll(async () => {
  await sandbox?.close();
  await mongo?.stop();
  await nats?.close();
});

/** Runs `body` against a payments instance with this environment, then stops the instance. */
async function withPayments(env: Env, body: (running: Running) => Promise<void>) {
  const running = await startService(
    { ...paymentsService, tuning: { listeners: fastListeners } },
    { env, listen: false },
  );
  try {
    await body(running);
  } finally {
    await running.stop();
  }
}

async function paymentEventsOf(orderId: string) {
  const messages = await readStream({ servers: nats.url, stream: 'PAYMENTS', filter: 'payment.created' });
  return messages.filter((m) => (m.data as EventData<'payment.created'>).orderId === orderId);
}

async function knowOrder(running: Running, order: EventData<'order.created'>) {
  await running.context.bus.publish('order.created', order);
  await eventually(async () => expect(await storesOf(running).orders.get(order.id)).not.toBeNull());
}

function pay(running: Running, orderId: string, token = 'tok_visa') {
  return request(running.app).post('/api/payments').set('Cookie', buyer.cookie).send({ orderId, token });
}

it('answers 502 when the gateway is unreachable, records no payment, and keeps the claim for recovery', async () => {
  await withPayments(
    paymentsEnv(nats, mongo, {
      STRIPE_API_URL: `http://127.0.0.1:${await closedPort()}`,
      // Long enough that the second attempt below surely finds the claim in progress; the settling test
      // further down runs an instance with a 1 s grace, which this claim is older than by then.
      PAYMENT_CLAIM_GRACE_SECONDS: '30',
    }),
    async (running) => {
      await knowOrder(running, unreachableOrder);

      const response = await pay(running, unreachableOrder.id);

      expect(response.status).toBe(502);
      expect(response.body.errors[0].message).toMatch(/payment provider/i);
      expect((await storesOf(running).payments.find({ orderId: unreachableOrder.id })).length).toBe(0);
      // The outcome is unknown to the service (a timeout looks the same): only the claim's own key may retry it.
      expect(await storesOf(running).claims.countDocuments({ _id: unreachableOrder.id })).toBe(1);
      expect((await pay(running, unreachableOrder.id)).status).toBe(409);
    },
  );
});

it('answers 402 with the decline reason when the card is declined and records no payment', async () => {
  await withPayments(sandboxEnv(nats, mongo, sandbox), async (running) => {
    await knowOrder(running, declinedOrder);

    const response = await pay(running, declinedOrder.id, 'tok_chargeDeclined');

    expect(response.status).toBe(402);
    expect(response.body).toEqual({ errors: [{ message: 'Your card was declined.', field: 'token' }] });
    const models = storesOf(running);
    const attempts = () => sandbox.charges().filter((c) => c.metadata.orderId === declinedOrder.id);
    expect(await (await models.payments.find({ orderId: declinedOrder.id })).length).toBe(0);
    expect(await models.claims.countDocuments({ _id: declinedOrder.id })).toBe(0);
    // The sandbox recorded the decline, as Stripe does; each attempt has its own idempotency key, so the
    // buyer can try again — with the same card (declined again) or another one (charged).
    expect(attempts()).toEqual([expect.objectContaining({ status: 'failed', token: 'tok_chargeDeclined' })]);
    const again = await pay(running, declinedOrder.id, 'tok_chargeDeclined');
    expect(again.status).toBe(402);
    const otherCard = await pay(running, declinedOrder.id, 'tok_visa');
    expect(otherCard.status).toBe(201);
    expect(attempts().map((attempt) => attempt.status)).toEqual(['failed', 'failed', 'succeeded']);
    expect(await (await models.payments.find({ orderId: declinedOrder.id })).length).toBe(1);

    await knowOrder(running, unknownTokenOrder);
    const unknownToken = await pay(running, unknownTokenOrder.id, 'tok_not_a_test_token');
    expect(unknownToken.status).toBe(400);
    expect(unknownToken.body.errors[0]).toMatchObject({
      field: 'token',
      message: expect.stringMatching(/No such token/),
    });
    expect(await models.claims.countDocuments({ _id: unknownTokenOrder.id })).toBe(0);
  });
});

it('settles the failed attempt once the gateway works again: the claim is charged under its key, once', async () => {
  expect(await paymentEventsOf(unreachableOrder.id)).toHaveLength(0);
  await new Promise((resolve) => setTimeout(resolve, 1100)); // past the grace period of the failed attempt
  await withPayments(paymentsEnv(nats, mongo, { PAYMENT_CLAIM_GRACE_SECONDS: '1' }), async (running) => {
    const response = await pay(running, unreachableOrder.id);
    expect(response.status).toBe(409); // the earlier attempt is now charged and recorded: already paid
    expect(response.body.errors[0].message).toMatch(/already paid/i);
    await eventually(async () => expect(await paymentEventsOf(unreachableOrder.id)).toHaveLength(1));
    expect((await storesOf(running).payments.find({ orderId: unreachableOrder.id })).length).toBe(1);
  });
});
