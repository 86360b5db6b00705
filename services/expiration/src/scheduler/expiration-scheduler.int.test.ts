import { durableName, type EventData, type RunningService, startService } from '@ticketing/common';
import {
  collectStream,
  eventually,
  leaveCrashedChange,
  type MongoHandle,
  type NatsServerHandle,
  readStream,
  startMongo,
  startNats,
} from '@ticketing/testing';
import request from 'supertest';
import { expirationService } from '../app';
import type { ExpirationConfig } from '../config';
import type { ExpirationStore } from '../domain/expiration';
import { expirationEnv, orderCreated, sleep } from '../test-support/fixtures';
import type { ExpirationScheduler } from './expiration-scheduler';

type Running = RunningService<ExpirationConfig>;

const expirationsOf = (running: Running) => running.parts.stores!.expirations as unknown as ExpirationStore;
const schedulerOf = (running: Running) => running.parts.workers![0] as ExpirationScheduler;

let nats: NatsServerHandle;
let mongo: MongoHandle;
const instances = new Set<Running>();

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
});

afterAll(async () => {
  await Promise.all([...instances].map((instance) => instance.stop()));
  await mongo?.stop();
  await nats?.close();
});

/** Starts an instance; a long poll by default, so only the nearest-job timer can fire on time. */
async function start(pollMs = 60_000): Promise<Running> {
  const running = await startService(
    // The relay of a stalled replica is taken for dead after 5 s: longer than these tests' expiries take to come.
    { ...expirationService, tuning: { relay: { heartbeatMs: 200, staleAfterMs: 5000 } } },
    { env: expirationEnv(nats, mongo, { EXPIRATION_POLL_MS: String(pollMs) }), listen: false },
  );
  instances.add(running);
  return running;
}

async function stop(running: Running): Promise<void> {
  instances.delete(running);
  await running.stop();
}

/** `expiration.complete` events on the stream for these orders, in stream order. */
async function completions(orderIds: string[]) {
  const wanted = new Set(orderIds);
  const messages = await readStream({
    servers: nats.url,
    stream: 'EXPIRATION',
    filter: 'expiration.complete',
  });
  return messages.filter((m) => wanted.has((m.data as EventData<'expiration.complete'>).orderId));
}

/** The value of a counter on the instance's `GET /metrics` (the one way operators see it). */
async function metric(running: Running, name: string): Promise<number> {
  const response = await request(running.app).get('/metrics');
  expect(response.status).toBe(200);
  const line = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(response.text);
  if (!line) throw new Error(`${name} is not on /metrics`);
  return Number(line[1]);
}

/** Publishes `order.created` for each time and waits until every job is scheduled. */
async function schedule(running: Running, times: Date[]) {
  const orders = times.map((expiresAt) => orderCreated(expiresAt));
  for (const order of orders) await running.context.bus.publish('order.created', order);
  await eventually(async () => {
    for (const order of orders) expect(await expirationsOf(running).get(order.id)).not.toBeNull();
  });
  return orders;
}

it('schedules one expiration per order, however often order.created arrives', async () => {
  const running = await start();
  const order = orderCreated(new Date(Date.now() + 3_600_000));
  await running.context.bus.publish('order.created', order);
  const repeat = await running.context.bus.publish('order.created', order); // a new message, same order

  await eventually(async () => {
    const info = await running.context.bus.jsm.consumers.info(
      'ORDERS',
      durableName('expiration', 'order.created'),
    );
    expect(info.ack_floor.stream_seq).toBeGreaterThanOrEqual(repeat.seq);
  });
  expect(await expirationsOf(running).get(order.id)).toMatchObject({
    orderId: order.id,
    expiresAt: new Date(order.expiresAt),
    status: 'scheduled',
    version: 0,
  });
  expect(await expirationsOf(running).history(order.id)).toHaveLength(1);
  await stop(running);
});

it('publishes expiration.complete {orderId, version 1} at expiresAt, on a timer (the poll is a minute)', async () => {
  const running = await start();
  const collector = await collectStream({
    servers: nats.url,
    stream: 'EXPIRATION',
    filter: 'expiration.complete',
    deliverFrom: 'new',
  });
  try {
    const expiresAt = new Date(Date.now() + 1500);
    const [order] = await schedule(running, [expiresAt]);

    const [message] = await collector.waitFor(1, 15_000);
    expect(message!.data).toEqual({ orderId: order!.id, version: 1 });
    expect(message!.time.getTime()).toBeGreaterThanOrEqual(expiresAt.getTime());
    // Far sooner than the next poll (a minute away): the timer fired it. The margin is for a loaded machine.
    expect(message!.time.getTime()).toBeLessThan(expiresAt.getTime() + 10_000);
    expect(await expirationsOf(running).get(order!.id)).toMatchObject({
      status: 'fired',
      version: 1,
    });
    expect(await metric(running, 'expirations_fired_total')).toBe(1);
    expect(await metric(running, 'expiration_claims_lost_total')).toBe(0);
  } finally {
    await collector.close();
    await stop(running);
  }
});

it('fires at once for an order whose time has already passed', async () => {
  const running = await start();
  const [order] = await schedule(running, [new Date(Date.now() - 5000)]);
  // Well before the first poll (a minute): scheduling fired it.
  await eventually(async () => expect(await completions([order!.id])).toHaveLength(1), { timeoutMs: 15_000 });
  await stop(running);
});

it('loses nothing across a restart: a job that came due while the service was down fires right after start', async () => {
  const first = await start();
  // Due after the first instance stopped (enough time to schedule and stop on a loaded machine).
  const expiresAt = new Date(Date.now() + 4000);
  const [order] = await schedule(first, [expiresAt]);
  expect(schedulerOf(first).fired).toBe(0);
  await stop(first);

  await sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 300);
  expect(await completions([order!.id])).toHaveLength(0);

  const second = await start();
  // Well before its first timed poll (a minute): the start-up pass fired it.
  await eventually(async () => expect(await completions([order!.id])).toHaveLength(1), { timeoutMs: 15_000 });
  expect(schedulerOf(second).fired).toBe(1);
  await stop(second);
});

it('fires each order exactly once when two instances share the jobs', async () => {
  // Ten jobs come due while no scheduler runs, so both instances find all of them in their first pass.
  const seeder = await start();
  const due = Date.now() + 4000;
  const dueWhileDown = await schedule(
    seeder,
    Array.from({ length: 10 }, () => new Date(due)),
  );
  expect(schedulerOf(seeder).fired).toBe(0);
  await stop(seeder);
  await sleep(Math.max(0, due - Date.now()) + 300);

  const [a, b] = await Promise.all([start(25), start(25)]);
  // Ten more come due while both poll every 25 ms.
  const dueWhileUp = await schedule(
    a,
    Array.from({ length: 10 }, (_, i) => new Date(Date.now() + 200 + 50 * i)),
  );
  const ids = [...dueWhileDown, ...dueWhileUp].map((order) => order.id);

  await eventually(async () => expect((await completions(ids)).length).toBeGreaterThanOrEqual(20), {
    timeoutMs: 20_000,
  });
  await sleep(500); // time for a double fire to show up, if there were one
  const messages = await completions(ids);
  expect(messages).toHaveLength(20);
  expect(new Set(messages.map((m) => (m.data as EventData<'expiration.complete'>).orderId))).toEqual(
    new Set(ids),
  );
  expect(messages.every((m) => (m.data as EventData<'expiration.complete'>).version === 1)).toBe(true);
  const [schedulerA, schedulerB] = [schedulerOf(a), schedulerOf(b)];
  expect(schedulerA.fired + schedulerB.fired).toBe(20);
  // Each instance's /metrics tells the same: 20 fired between them, and the races each one lost.
  expect((await metric(a, 'expirations_fired_total')) + (await metric(b, 'expirations_fired_total'))).toBe(
    20,
  );
  expect(await metric(a, 'expiration_claims_lost_total')).toBe(schedulerA.claimsLost);
  expect(await metric(b, 'expiration_claims_lost_total')).toBe(schedulerB.claimsLost);
  // Version 0 (scheduled) and version 1 (fired) of each, nothing more.
  for (const id of ids) expect(await expirationsOf(a).history(id)).toHaveLength(2);

  await Promise.all([stop(a), stop(b)]);
});

it('counts a due expiration another writer claimed first on /metrics, and does not fire it again', async () => {
  const running = await start();
  const expiresAt = new Date(Date.now() + 2500);
  const [order] = await schedule(running, [expiresAt]);
  // Another replica claims the firing (version 1, with its event) and stalls before writing the head: the
  // head still says scheduled when this instance's timer comes.
  await leaveCrashedChange(
    expirationsOf(running),
    order!.id,
    1,
    {
      orderId: order!.id,
      expiresAt,
      dueSlot: Math.floor(expiresAt.getTime() / 10_000),
      status: 'fired',
      firedAt: new Date(),
    },
    {
      ageMs: 0,
      head: false,
      events: [
        {
          id: `${order!.id}-other`,
          subject: 'expiration.complete',
          data: { orderId: order!.id, version: 1 },
          correlationId: 'other-replica',
          occurredAt: new Date(),
        },
      ],
      relays: running.context.connection.db!.collection('outbox_writers'),
    },
  );
  expect(await metric(running, 'expiration_claims_lost_total')).toBe(0);

  await eventually(async () => expect(await metric(running, 'expiration_claims_lost_total')).toBe(1), {
    timeoutMs: 6000,
  });
  expect(await metric(running, 'expirations_fired_total')).toBe(0);
  expect(schedulerOf(running).claimsLost).toBe(1);
  // The other writer's event goes out once, through this instance's relay once the other is taken for dead.
  await eventually(async () => expect(await completions([order!.id])).toHaveLength(1), { timeoutMs: 10_000 });
  await sleep(300);
  expect(await completions([order!.id])).toHaveLength(1);
  await stop(running);
});

it('serves health, readiness and metrics', async () => {
  const running = await start();
  expect((await request(running.app).get('/healthz')).status).toBe(200);
  expect((await request(running.app).get('/readyz')).status).toBe(200);
  const metrics = await request(running.app).get('/metrics');
  expect(metrics.status).toBe(200);
  expect(metrics.text).toContain('outbox_published_total');
  expect(metrics.text).toContain('# TYPE expirations_fired_total counter');
  expect(metrics.text).toContain('# TYPE expiration_claims_lost_total counter');
  expect((await request(running.app).get('/api/anything')).status).toBe(404);
  await stop(running);
});
