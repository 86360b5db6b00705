import { type EventData, type RunningService, startService } from '@ticketing/common';
import {
  eventually,
  type MongoHandle,
  missingEvents,
  type NatsServerHandle,
  objectId,
  operationSummary,
  readStream,
  responseSchema,
  servedOpenApiPaths,
  signTestUser,
  startMongo,
  startNats,
} from '@ticketing/testing';
import request from 'supertest';
import { createPaymentsService, stripeGatewayFromConfig } from '../app';
import type { PaymentsConfig } from '../config';
import { fastListeners, orderCreated, paymentsEnv, storesOf } from '../test-support/fixtures';
import { RecordingGateway } from '../test-support/recording-gateway';

let nats: NatsServerHandle;
let mongo: MongoHandle;
let running: RunningService<PaymentsConfig>;
let gateway: RecordingGateway;

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  const definition = createPaymentsService((context) => {
    gateway = new RecordingGateway(stripeGatewayFromConfig(context.config));
    return gateway;
  });
  running = await startService(
    { ...definition, tuning: { listeners: fastListeners } },
    { env: paymentsEnv(nats, mongo), listen: false },
  );
});

afterAll(async () => {
  await running?.stop();
  await mongo?.stop();
  await nats?.close();
});

const orders = () => storesOf(running).orders;
const payments = () => storesOf(running).payments;
const claims = () => storesOf(running).claims;

/** Publishes `order.created` for a new order of `userId` and waits until the replica has it. */
async function seedOrder(userId: string, price = 20): Promise<EventData<'order.created'>> {
  const event = orderCreated({ userId, ticket: { id: objectId(), price } });
  await running.context.bus.publish('order.created', event);
  await eventually(async () => expect(await orders().get(event.id)).not.toBeNull());
  return event;
}

async function paymentEventsOf(orderId: string) {
  const messages = await readStream({ servers: nats.url, stream: 'PAYMENTS', filter: 'payment.created' });
  return messages
    .map((message) => message.data as EventData<'payment.created'>)
    .filter((data) => data.orderId === orderId);
}

function pay(cookie: string, body: unknown) {
  return request(running.app)
    .post('/api/payments')
    .set('Cookie', cookie)
    .send(body as object);
}

it('charges the price in cents through Stripe and emits payment.created (v0) through the outbox', async () => {
  const buyer = signTestUser();
  const order = await seedOrder(buyer.user.id, 19.99);

  const response = await request(running.app)
    .post('/api/payments')
    .set('Authorization', buyer.bearer)
    .send({ orderId: order.id, token: 'tok_visa' });

  expect(response.status).toBe(201);
  expect(response.body).toEqual({ id: expect.stringMatching(/^[a-f0-9]{24}$/) });
  expect(gateway.chargesOf(order.id)).toEqual([
    {
      amountCents: 1999,
      currency: 'usd',
      token: 'tok_visa',
      // One key per claimed attempt: the order and the payment this attempt would record.
      idempotencyKey: `${order.id}-${response.body.id}`,
      metadata: { orderId: order.id },
    },
  ]);
  const payment = await payments().get(response.body.id);
  expect(payment).toMatchObject({
    orderId: order.id,
    userId: buyer.user.id,
    amountCents: 1999,
    currency: 'usd',
    status: 'paid',
    chargeId: expect.stringMatching(/^ch_/),
    version: 0,
  });
  const events = await eventually(async () => {
    const found = await paymentEventsOf(order.id);
    expect(found).toHaveLength(1);
    return found;
  });
  expect(events[0]).toEqual({
    id: response.body.id,
    version: 0,
    orderId: order.id,
    chargeId: payment!.chargeId,
  });
  // The payment and its event were one insert, and the relay published that very event.
  const [created] = await payments().history(response.body.id);
  expect(created!.events).toEqual([expect.objectContaining({ subject: 'payment.created' })]);
  await eventually(async () =>
    expect(missingEvents([created!], await readStream({ servers: nats.url, stream: 'PAYMENTS' }))).toEqual(
      [],
    ),
  );
  // The claim keeps the charge's exact parameters: a resumed charge must be the same request under the same key.
  expect(await claims().findById(order.id).lean()).toMatchObject({
    paymentId: response.body.id,
    userId: buyer.user.id,
    token: 'tok_visa',
    amountCents: 1999,
    currency: 'usd',
  });
});

it('lets exactly one of two concurrent payments for an order charge: one 201, one 409, one charge', async () => {
  const buyer = signTestUser();
  const order = await seedOrder(buyer.user.id, 35);

  const responses = await Promise.all([
    pay(buyer.cookie, { orderId: order.id, token: 'tok_visa' }),
    pay(buyer.cookie, { orderId: order.id, token: 'tok_visa' }),
  ]);

  expect(responses.map((r) => r.status).sort()).toEqual([201, 409]);
  expect(responses.find((r) => r.status === 409)!.body.errors[0]).toMatchObject({ field: 'orderId' });
  expect(gateway.chargesOf(order.id)).toHaveLength(1);
  const stored = await payments().find({ orderId: order.id });
  expect(stored).toHaveLength(1);
  expect(stored[0]!.status).toBe('paid');
  const events = await eventually(async () => {
    const found = await paymentEventsOf(order.id);
    expect(found).toHaveLength(1);
    return found;
  });
  expect(events[0]!.chargeId).toBe(stored[0]!.chargeId);

  // A retry after the success is a plain 409 "already paid", and still no second charge.
  const retry = await pay(buyer.cookie, { orderId: order.id, token: 'tok_visa' });
  expect(retry.status).toBe(409);
  expect(retry.body.errors[0].message).toMatch(/already paid/i);
  expect(gateway.chargesOf(order.id)).toHaveLength(1);
});

it('answers 401 without a signed-in user', async () => {
  const order = await seedOrder(objectId());
  const response = await request(running.app)
    .post('/api/payments')
    .send({ orderId: order.id, token: 'tok_visa' });
  expect(response.status).toBe(401);
  expect(await (await payments().find({ orderId: order.id })).length).toBe(0);
  expect(await claims().countDocuments({ _id: order.id })).toBe(0);
});

it('answers 400 naming the field for bad input, never 5xx', async () => {
  const buyer = signTestUser();
  const cases: Array<{ body: unknown; fields: string[] }> = [
    { body: {}, fields: ['orderId', 'token'] },
    { body: { orderId: 'not-an-id', token: 'tok_visa' }, fields: ['orderId'] },
    { body: { orderId: objectId() }, fields: ['token'] },
    { body: { orderId: objectId(), token: '' }, fields: ['token'] },
    { body: { orderId: objectId(), token: 'tok visa' }, fields: ['token'] },
    { body: { orderId: objectId(), token: 42 }, fields: ['token'] },
    { body: { orderId: { $gt: '' }, token: 'tok_visa' }, fields: ['orderId'] },
  ];
  for (const { body, fields } of cases) {
    const response = await pay(buyer.cookie, body);
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { field?: string }) => e.field).sort()).toEqual(fields);
  }
  const array = await pay(buyer.cookie, [{ orderId: objectId(), token: 'tok_visa' }]);
  expect(array.status).toBe(400);
  const malformed = await request(running.app)
    .post('/api/payments')
    .set('Cookie', buyer.cookie)
    .set('Content-Type', 'application/json')
    .send('{"orderId": ');
  expect(malformed.status).toBe(400);
  expect(gateway.charges.filter((c) => c.token === 'tok visa')).toHaveLength(0);
});

it('answers 400 for a token holding U+0000, which FerretDB on PostgreSQL cannot store, and charges nothing', async () => {
  const buyer = signTestUser();
  const order = await seedOrder(buyer.user.id);
  const response = await pay(buyer.cookie, { orderId: order.id, token: 'tok_\u0000visa' });
  expect(response.status).toBe(400);
  expect(response.body.errors).toEqual([
    { message: 'must not contain the NUL character (U+0000)', field: 'token' },
  ]);
  expect(gateway.charges.filter((c) => c.token.includes('\u0000'))).toHaveLength(0);
  expect((await pay(buyer.cookie, { orderId: order.id, token: 'tok_visa' })).status).toBe(201);
});

it('answers 404 for an order it does not know', async () => {
  const buyer = signTestUser();
  const orderId = objectId();
  const response = await pay(buyer.cookie, { orderId, token: 'tok_visa' });
  expect(response.status).toBe(404);
  expect(gateway.chargesOf(orderId)).toHaveLength(0);
});

it("answers 403 for someone else's order and charges nothing", async () => {
  const order = await seedOrder(objectId());
  const intruder = signTestUser();
  const response = await pay(intruder.cookie, { orderId: order.id, token: 'tok_visa' });
  expect(response.status).toBe(403);
  expect(gateway.chargesOf(order.id)).toHaveLength(0);
  expect(await (await payments().find({ orderId: order.id })).length).toBe(0);
  expect(await claims().countDocuments({ _id: order.id })).toBe(0);
});

it('answers 409 for a cancelled order and charges nothing', async () => {
  const buyer = signTestUser();
  const order = await seedOrder(buyer.user.id);
  await running.context.bus.publish('order.cancelled', { id: order.id, version: 1, ticket: order.ticket });
  await eventually(async () => expect((await orders().get(order.id))?.status).toBe('cancelled'));

  const response = await pay(buyer.cookie, { orderId: order.id, token: 'tok_visa' });

  expect(response.status).toBe(409);
  expect(response.body.errors[0].message).toMatch(/cancelled/i);
  expect(gateway.chargesOf(order.id)).toHaveLength(0);
  expect(await (await payments().find({ orderId: order.id })).length).toBe(0);
  expect(await claims().countDocuments({ _id: order.id })).toBe(0);
});

it('serves health, readiness and metrics', async () => {
  expect((await request(running.app).get('/healthz')).status).toBe(200);
  const ready = await request(running.app).get('/readyz');
  expect(ready.status).toBe(200);
  expect(ready.body.checks).toMatchObject({ mongo: expect.anything(), nats: expect.anything() });
  const metrics = await request(running.app).get('/metrics');
  expect(metrics.status).toBe(200);
  expect(metrics.text).toContain('http_request_duration_seconds');
  expect(metrics.text).toContain('route="/api/payments"');
});

it('serves its OpenAPI document listing every operation with its documented answers', async () => {
  const paths = await servedOpenApiPaths(running.app, 'payments API');
  expect(operationSummary(paths)).toEqual({
    'POST /api/payments': {
      operationId: 'createPayment',
      statuses: ['201', '400', '401', '402', '403', '404', '409', '413', '415', '500', '502'],
    },
  });
  const create = paths['/api/payments']!.post!;
  expect(create.requestBody!.content['application/json'].schema).toMatchObject({
    type: 'object',
    required: ['orderId', 'token'],
  });
  expect(responseSchema(create, '201')).toMatchObject({
    type: 'object',
    properties: { id: { type: 'string' } },
    additionalProperties: false,
  });
  expect(create.security).toEqual([{ cookieAuth: [] }, { bearerAuth: [] }]);
});
