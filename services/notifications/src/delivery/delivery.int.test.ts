import type { EventData } from '@ticketing/common';
import {
  eventually,
  type NatsServerHandle,
  objectId,
  operationSummary,
  readStream,
  servedOpenApiPaths,
  signTestUser,
  startNats,
} from '@ticketing/testing';
import request from 'supertest';
import { register } from '../domain/webhooks';
import {
  type RunningNotifications,
  registerWebhook,
  startNotifications,
  storesOf,
} from '../test-support/harness';
import { type Receiver, startReceiver } from '../test-support/receiver';
import { verifySignature } from './signature';

let nats: NatsServerHandle;
let receiver: Receiver;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  nats = await startNats();
});
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await receiver.close();
});
afterAll(async () => {
  await nats?.close();
});

async function start(env: Record<string, string> = {}): Promise<RunningNotifications> {
  const started = await startNotifications(nats, env);
  cleanups.push(started.stop);
  return started.running;
}

function orderCreated(userId: string): EventData<'order.created'> {
  return {
    id: objectId(),
    version: 0,
    userId,
    status: 'created',
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    ticket: { id: objectId(), price: 20 },
  };
}

async function deliveriesOf(running: RunningNotifications, webhookId: string, bearer: string) {
  const response = await request(running.app)
    .get(`/api/webhooks/${webhookId}/deliveries`)
    .set('Authorization', bearer);
  expect(response.status).toBe(200);
  return response.body as Array<{
    eventId: string;
    status: string;
    attempts: number;
    lastStatusCode?: number;
    lastError?: string;
    lastResponseBody?: string;
  }>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('posts an event once, signed with the endpoint secret, with its id in a header', async () => {
  const running = await start();
  const { webhook, user } = await registerWebhook(running, receiver.url, ['order.created']);
  const order = orderCreated(user.user.id);
  await running.context.bus.publish('order.created', order);
  await running.context.bus.publish('order.created', orderCreated(objectId())); // someone else's

  await eventually(() => expect(receiver.received).toHaveLength(1), { timeoutMs: 15_000 });
  await sleep(1000); // room for a second POST, if there were one
  expect(receiver.received).toHaveLength(1);
  const [got] = receiver.received;
  expect(verifySignature(webhook.secret, got!.signature, got!.rawBody)).toBe(true);
  expect(verifySignature('whsec_other', got!.signature, got!.rawBody)).toBe(false);
  expect(verifySignature(webhook.secret, got!.signature, `${got!.rawBody} `)).toBe(false);
  expect(got!.body).toEqual({
    id: got!.eventId,
    type: 'order.created',
    createdAt: expect.any(String),
    data: { orderId: order.id, ticketId: order.ticket.id, status: 'created', expiresAt: order.expiresAt },
  });
  await eventually(async () =>
    expect(await deliveriesOf(running, webhook.id, user.bearer)).toEqual([
      expect.objectContaining({
        eventId: got!.eventId,
        status: 'delivered',
        attempts: 1,
        lastStatusCode: 200,
      }),
    ]),
  );
});

it('retries a failing endpoint with back-off until it answers 2xx, keeping 1 KB of its answer', async () => {
  const running = await start({ WEBHOOK_RETRY_SCHEDULE: '1,2' });
  const { webhook, user } = await registerWebhook(running, receiver.url, ['order.created']);
  receiver.responseBody = 'x'.repeat(5000);
  receiver.answer = () => (receiver.received.length < 2 ? 503 : 200);
  await running.context.bus.publish('order.created', orderCreated(user.user.id));

  await eventually(() => expect(receiver.received.map((r) => r.status)).toEqual([503, 503, 200]), {
    timeoutMs: 20_000,
  });
  const [first, second, third] = receiver.received.map((r) => r.at);
  // 1 s then 2 s, each ±20 % of jitter (and the poll's 200 ms).
  expect(second! - first!).toBeGreaterThanOrEqual(750);
  expect(third! - second!).toBeGreaterThanOrEqual(1550);
  expect(new Set(receiver.received.map((r) => r.eventId)).size).toBe(1);
  await eventually(async () => {
    const [delivery] = await deliveriesOf(running, webhook.id, user.bearer);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200 });
    expect(delivery!.lastResponseBody).toHaveLength(1024);
  });
});

it('fails a delivery past its max age and dead-letters it with its last error', async () => {
  const running = await start({ WEBHOOK_RETRY_SCHEDULE: '1', WEBHOOK_MAX_AGE_SECONDS: '3' });
  const { webhook, user } = await registerWebhook(running, receiver.url, ['order.created']);
  receiver.answer = () => 500;
  await running.context.bus.publish('order.created', orderCreated(user.user.id));

  await eventually(
    async () =>
      expect(await deliveriesOf(running, webhook.id, user.bearer)).toEqual([
        expect.objectContaining({ status: 'failed', lastStatusCode: 500, lastError: 'answered 500' }),
      ]),
    { timeoutMs: 20_000 },
  );
  const attempts = receiver.received.length;
  expect(attempts).toBeGreaterThanOrEqual(2);
  const [delivery] = await deliveriesOf(running, webhook.id, user.bearer);
  const dead = await readStream({
    servers: nats.url,
    stream: 'DLQ',
    filter: 'dlq.notifications.webhook.order.created',
  });
  const mine = dead.filter((m) => (m.data as { endpointId: string }).endpointId === webhook.id);
  expect(mine).toHaveLength(1);
  expect(mine[0]!.headers['Ticketing-Dlq-Error']).toBe('answered 500');
  expect((mine[0]!.data as { event: { id: string } }).event.id).toBe(delivery!.eventId);
  await sleep(1500);
  expect(receiver.received).toHaveLength(attempts); // no attempt after failing

  // Redelivery starts a fresh run.
  receiver.answer = () => 200;
  const redelivered = await request(running.app)
    .post(`/api/webhooks/${webhook.id}/deliveries/${(delivery as unknown as { id: string }).id}/redeliver`)
    .set('Authorization', user.bearer);
  expect(redelivered.status).toBe(202);
  await eventually(async () =>
    expect(await deliveriesOf(running, webhook.id, user.bearer)).toEqual([
      expect.objectContaining({ status: 'delivered', lastStatusCode: 200 }),
    ]),
  );
});

it('keeps each endpoint in event order: a down receiver gets every missed event, in order, when it returns', async () => {
  const running = await start({ WEBHOOK_RETRY_SCHEDULE: '1' });
  const { user } = await registerWebhook(running, receiver.url, ['order.created']);
  let up = false;
  receiver.answer = () => (up ? 200 : 500);
  const orders = Array.from({ length: 6 }, () => orderCreated(user.user.id));
  for (const order of orders) await running.context.bus.publish('order.created', order);
  await eventually(() => expect(receiver.received.length).toBeGreaterThanOrEqual(3), { timeoutMs: 15_000 });
  // Only the oldest is tried while it fails: the others wait behind it.
  expect(new Set(receiver.received.map((r) => r.body.data.orderId))).toEqual(new Set([orders[0]!.id]));
  up = true;

  await eventually(() => expect(receiver.received.filter((r) => r.status === 200)).toHaveLength(6), {
    timeoutMs: 20_000,
  });
  const delivered = receiver.received.filter((r) => r.status === 200).map((r) => r.body.data.orderId);
  expect(delivered).toEqual(orders.map((o) => o.id));
});

it('pauses an endpoint failing for long, probes it, and resumes with its backlog', async () => {
  const running = await start({
    WEBHOOK_RETRY_SCHEDULE: '1',
    WEBHOOK_PAUSE_AFTER_SECONDS: '2',
    WEBHOOK_PAUSE_PROBE_SECONDS: '3',
  });
  const { webhook, user } = await registerWebhook(running, receiver.url, ['order.created']);
  let up = false;
  receiver.answer = () => (up ? 200 : 500);
  const first = orderCreated(user.user.id);
  await running.context.bus.publish('order.created', first);
  const status = async () =>
    (await request(running.app).get('/api/webhooks').set('Authorization', user.bearer)).body[0].status;
  await eventually(async () => expect(await status()).toBe('paused'), { timeoutMs: 15_000 });
  const pausedAt = receiver.received.length;
  const backlog = Array.from({ length: 3 }, () => orderCreated(user.user.id));
  for (const order of backlog) await running.context.bus.publish('order.created', order);
  await sleep(2000);
  // Paused: probed every 3 s, not every second.
  expect(receiver.received.length - pausedAt).toBeLessThanOrEqual(1);
  up = true;

  await eventually(() => expect(receiver.received.filter((r) => r.status === 200)).toHaveLength(4), {
    timeoutMs: 20_000,
  });
  expect(receiver.received.filter((r) => r.status === 200).map((r) => r.body.data.orderId)).toEqual(
    [first, ...backlog].map((o) => o.id),
  );
  expect(await status()).toBe('active');
  expect(webhook.id).toBeTruthy();
});

describe('addresses', () => {
  it('refuses plain http, loopback, private, link-local and metadata addresses at registration', async () => {
    const running = await start({ WEBHOOK_ALLOW_HTTP: 'false', WEBHOOK_ALLOW_PRIVATE: 'false' });
    const user = signTestUser();
    for (const url of [
      'http://example.com/hook',
      'https://127.0.0.1/hook',
      'https://localhost/hook',
      'https://10.1.2.3/hook',
      'https://192.168.0.10/hook',
      'https://[::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://169.254.169.254/latest/meta-data',
      'not a url',
    ]) {
      const response = await request(running.app)
        .post('/api/webhooks')
        .set('Authorization', user.bearer)
        .send({ url, events: ['ticket.sold'] });
      expect({ url, status: response.status, field: response.body.errors?.[0]?.field }).toEqual({
        url,
        status: 400,
        field: 'url',
      });
    }
    expect((await request(running.app).get('/api/webhooks').set('Authorization', user.bearer)).body).toEqual(
      [],
    );
  });

  it('refuses the metadata range even when private addresses are allowed', async () => {
    const running = await start();
    const response = await request(running.app)
      .post('/api/webhooks')
      .set('Authorization', signTestUser().bearer)
      .send({ url: 'http://169.254.169.254/hook', events: ['ticket.sold'] });
    expect(response.status).toBe(400);
  });

  it('checks again at delivery, after DNS: a name that now resolves to loopback is not posted to', async () => {
    const running = await start({
      WEBHOOK_ALLOW_PRIVATE: 'false',
      WEBHOOK_RETRY_SCHEDULE: '1',
      WEBHOOK_MAX_AGE_SECONDS: '2',
    });
    const user = signTestUser();
    // An endpoint registered while its name resolved to a public address (written as registration would).
    const { latest } = await storesOf(running).accounts.decide(user.user.id, (account) =>
      register(
        account,
        { url: receiver.url.replace('127.0.0.1', 'localhost'), events: ['order.created'] },
        10,
        new Date(),
      ),
    );
    const webhookId = latest!.endpoints[0]!.id;
    await running.context.bus.publish('order.created', orderCreated(user.user.id));
    await eventually(
      async () =>
        expect(await deliveriesOf(running, webhookId, user.bearer)).toEqual([
          expect.objectContaining({ status: 'failed', lastError: expect.stringMatching(/loopback/) }),
        ]),
      { timeoutMs: 15_000 },
    );
    expect(receiver.received).toHaveLength(0);
  });
});

it('allows at most 10 endpoints per user', async () => {
  const running = await start();
  const user = signTestUser();
  for (let i = 0; i < 10; i++) await registerWebhook(running, `${receiver.url}/${i}`, ['ticket.sold'], user);
  const eleventh = await request(running.app)
    .post('/api/webhooks')
    .set('Authorization', user.bearer)
    .send({ url: receiver.url, events: ['ticket.sold'] });
  expect(eleventh.status).toBe(409);
  const list = await request(running.app).get('/api/webhooks').set('Authorization', user.bearer);
  expect(list.body).toHaveLength(10);
  expect(list.body[0].secret).toBeUndefined();
  const deleted = await request(running.app)
    .delete(`/api/webhooks/${list.body[0].id}`)
    .set('Authorization', user.bearer);
  expect(deleted.status).toBe(204);
  expect(
    (await request(running.app).delete(`/api/webhooks/${list.body[0].id}`).set('Authorization', user.bearer))
      .status,
  ).toBe(404);
});

it('documents every operation in its OpenAPI document, with the receiver’s signature check', async () => {
  const running = await start();
  const paths = await servedOpenApiPaths(running.app, 'notifications API');
  expect(
    Object.fromEntries(
      Object.entries(operationSummary(paths)).map(([op, { operationId }]) => [op, operationId]),
    ),
  ).toEqual({
    'POST /api/webhooks': 'createWebhook',
    'GET /api/webhooks': 'listWebhooks',
    'DELETE /api/webhooks/{id}': 'deleteWebhook',
    'GET /api/webhooks/{id}/deliveries': 'listWebhookDeliveries',
    'POST /api/webhooks/{id}/deliveries/{deliveryId}/redeliver': 'redeliverWebhook',
  });
  const created = JSON.stringify(paths['/api/webhooks']!.post!.responses['201']);
  expect(created).toContain('Ticketing-Signature');
  expect(created).toContain('timingSafeEqual');
});
