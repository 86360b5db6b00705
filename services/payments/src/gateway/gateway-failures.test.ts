// Gateway failures through the whole service. An unreachable gateway is real (a closed port). A decline is not
// something stripe-mock can produce (it answers every valid request with a canned success; declines are out of
// its scope, stripe/stripe-mock#158), so the decline case talks to a one-route HTTP server answering exactly
// what Stripe documents for a declined card: the real Stripe client and StripeGateway still do all the work.
import { type EventData, type RunningService, startService } from '@ticketing/common';
import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  readStream,
  signTestUser,
  startMongo,
  startNats,
} from '@ticketing/testing';
import request from 'supertest';
import { paymentsService } from '../app';
import type { PaymentsConfig } from '../config';
import type { PaymentsModels } from '../models/models';
import { fastListeners, orderCreated, paymentsEnv } from '../test-support/fixtures';
import { cannedServer, closedPort, stripeCardDeclinedBody } from '../test-support/servers';

let nats: NatsServerHandle;
let mongo: MongoHandle;
const buyer = signTestUser();
const order = orderCreated({ userId: buyer.user.id });

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
});

afterAll(async () => {
  await mongo?.stop();
  await nats?.close();
});

/** Runs `body` against a payments instance charging through `stripeApiUrl`, then stops the instance. */
async function withPayments(
  stripeApiUrl: string,
  body: (running: RunningService<PaymentsConfig, PaymentsModels>) => Promise<void>,
) {
  const running = await startService(
    { ...paymentsService, listenerOptions: fastListeners },
    { env: paymentsEnv(nats, mongo, { STRIPE_API_URL: stripeApiUrl }), listen: false },
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

function pay(running: RunningService<PaymentsConfig, PaymentsModels>) {
  return request(running.app)
    .post('/api/payments')
    .set('Cookie', buyer.cookie)
    .send({ orderId: order.id, token: 'tok_visa' });
}

it('answers 502 when the gateway is unreachable and records nothing', async () => {
  await withPayments(`http://127.0.0.1:${await closedPort()}`, async (running) => {
    await running.context.bus.publish('order.created', order);
    await eventually(async () => expect(await running.context.models.orders.get(order.id)).not.toBeNull());

    const response = await pay(running);

    expect(response.status).toBe(502);
    expect(response.body.errors[0].message).toMatch(/payment provider/i);
    expect(await running.context.models.payments.model.countDocuments({ orderId: order.id })).toBe(0);
    expect(await running.context.models.claims.countDocuments({ _id: order.id })).toBe(0);
  });
});

it('answers 402 with Stripe’s reason when the card is declined and records nothing', async () => {
  const stripe = await cannedServer(402, stripeCardDeclinedBody);
  try {
    await withPayments(stripe.url, async (running) => {
      const response = await pay(running);

      expect(response.status).toBe(402);
      expect(response.body).toEqual({ errors: [{ message: 'Your card was declined.', field: 'token' }] });
      expect(await running.context.models.payments.model.countDocuments({ orderId: order.id })).toBe(0);
      expect(await running.context.models.claims.countDocuments({ _id: order.id })).toBe(0);
      expect(await running.context.models.claims.countDocuments({ _id: order.id })).toBe(0);
    });
  } finally {
    await stripe.close();
  }
});

it('lets the order be paid once the gateway works again, with nothing left over from the failures', async () => {
  expect(await paymentEventsOf(order.id)).toHaveLength(0);
  await withPayments(paymentsEnv(nats, mongo).STRIPE_API_URL!, async (running) => {
    const response = await pay(running);
    expect(response.status).toBe(201);
    await eventually(async () => expect(await paymentEventsOf(order.id)).toHaveLength(1));
  });
});
