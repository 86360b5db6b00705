import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  objectId,
  readStream,
  startMongo,
  startNats,
} from '@ticketing/testing';
import mongoose, { type Connection, type Model, Schema } from 'mongoose';
import { Registry } from 'prom-client';
import { type Bus, connectBus } from '../bus/bus';
import { EventSchemaError } from '../events/errors';
import { createLogger } from '../logging';
import { AggregateStore } from '../store/aggregate-store';
import { sleep } from '../test-support/fixtures';
import { newEvent } from './event';
import { OutboxRelay } from './relay';

interface Ticket {
  title: string;
  price: number;
  userId: string;
  version: number;
}

const logger = createLogger({ service: 'test' });
let nats: NatsServerHandle;
let mongo: MongoHandle;
let connection: Connection;
let bus: Bus;
let Tickets: Model<Ticket>;
let store: AggregateStore<Omit<Ticket, 'version'>>;
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  connection = await mongoose.createConnection(mongo.url).asPromise();
  Tickets = connection.model<Ticket>(
    'Ticket',
    new Schema<Ticket>({ title: String, price: Number, userId: String, version: Number }),
  );
  store = new AggregateStore(Tickets as never);
  await store.init();
  bus = await connectBus({ servers: nats.url, name: 'outbox-test', logger });
  await bus.ensureStreams();
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  await Tickets.deleteMany({});
  await store.changes.deleteMany({});
  await store.pending.deleteMany({});
  await bus.jsm.streams.purge('TICKETS');
});

afterAll(async () => {
  await bus?.close();
  await connection?.close();
  await mongo?.stop();
  await nats?.close();
});

function relay(overrides: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}) {
  const instance = new OutboxRelay({
    publisher: bus,
    stores: [store],
    logger,
    intervalMs: 100,
    initialBackoffMs: 50,
    maxBackoffMs: 500,
    ...overrides,
  });
  relays.push(instance);
  return instance;
}

/** Creates a ticket with its `ticket.created`, then `updates` updates each with its `ticket.updated`. */
async function writeTicket(updates = 0) {
  const id = objectId();
  const base = { title: 'Show', price: 10, userId: objectId() };
  let head = await store.create(id, base, [newEvent('ticket.created', { id, version: 0, ...base })]);
  for (let version = 1; version <= updates; version++) {
    const price = 10 + version;
    head = await store.update(head, { price }, [newEvent('ticket.updated', { id, version, ...base, price })]);
  }
  return id;
}

async function pendingChanges() {
  return store.changes.countDocuments({ published: false });
}

function versionsById(messages: Awaited<ReturnType<typeof readStream>>) {
  const versions = new Map<string, number[]>();
  for (const message of messages) {
    const data = message.data as { id: string; version: number };
    versions.set(data.id, [...(versions.get(data.id) ?? []), data.version]);
  }
  return versions;
}

it('publishes each committed event exactly once, in version order per aggregate', async () => {
  const ids = [await writeTicket(2), await writeTicket(0), await writeTicket(3)];
  expect(await relay().runOnce()).toBe(3 + 1 + 4);
  const stored = await readStream({ servers: nats.url, stream: 'TICKETS' });
  expect(stored).toHaveLength(8);
  const versions = versionsById(stored);
  expect(versions.get(ids[0]!)).toEqual([0, 1, 2]);
  expect(versions.get(ids[1]!)).toEqual([0]);
  expect(versions.get(ids[2]!)).toEqual([0, 1, 2, 3]);
  expect(await pendingChanges()).toBe(0);
  expect(await store.pending.countDocuments({})).toBe(0); // what the relay reads stays small
  expect(await relay().runOnce()).toBe(0);
});

it('removes the marker a writer left without a change once it is old, and keeps a young one', async () => {
  const aggregateId = objectId();
  const marker = (age: number, nonce: string) => ({
    _id: `${aggregateId}:1#${nonce}`,
    changeId: `${aggregateId}:1`,
    aggregateId,
    version: 1,
    at: new Date(Date.now() - age),
  });
  await store.pending.insertMany([marker(120_000, 'died-before-its-claim')]);
  const cleaner = relay({ orphanAfterMs: 60_000 });
  expect(await cleaner.pendingStats()).toEqual({ count: 0, oldestAgeSeconds: 0 }); // reading metrics changes nothing
  expect(await store.pending.countDocuments({ aggregateId })).toBe(1);
  await cleaner.runOnce();
  expect(await store.pending.countDocuments({ aggregateId })).toBe(0);
  await store.pending.insertMany([marker(1_000, 'still-claiming')]);
  await relay({ orphanAfterMs: 60_000 }).runOnce();
  expect(await store.pending.countDocuments({ aggregateId })).toBe(1);
});

it('is kicked by every committed change, without waiting for its timer', async () => {
  const kicked = relay({ intervalMs: 60_000, writes: connection });
  kicked.start();
  const id = await writeTicket(1);
  // Long before its timer (a minute): the write's kick ran it.
  await eventually(async () => expect(await pendingChanges()).toBe(0), { timeoutMs: 15_000 });
  expect(versionsById(await readStream({ servers: nats.url, stream: 'TICKETS' })).get(id)).toEqual([0, 1]);
});

it('finds changes nobody kicked it for on its timer (a peer that wrote and crashed)', async () => {
  const running = relay({ intervalMs: 200 });
  running.start();
  await writeTicket(1);
  await eventually(async () =>
    expect(await readStream({ servers: nats.url, stream: 'TICKETS' })).toHaveLength(2),
  );
});

it('keeps events while nats-server is down and publishes all of them, in order, after it restarts', async () => {
  await nats.stop();
  const ids = [await writeTicket(1), await writeTicket(1)];
  const running = relay();
  running.start();
  await sleep(1500); // several failed passes with back-off
  expect(await pendingChanges()).toBe(4);
  await nats.restart();
  await eventually(async () => expect(await pendingChanges()).toBe(0), { timeoutMs: 20_000 });
  const stored = await readStream({ servers: nats.url, stream: 'TICKETS' });
  expect(stored).toHaveLength(4);
  const versions = versionsById(stored);
  for (const id of ids) expect(versions.get(id)).toEqual([0, 1]);
});

it('a relay that dies after the write loses nothing: a new relay publishes the events', async () => {
  const dead = relay();
  dead.start();
  await dead.stop(); // the service crashed right after its write, before any pass published
  const id = await writeTicket(2);
  expect(await pendingChanges()).toBe(3);
  relay().start();
  await eventually(async () => expect(await pendingChanges()).toBe(0));
  expect(versionsById(await readStream({ servers: nats.url, stream: 'TICKETS' })).get(id)).toEqual([0, 1, 2]);
});

it('two relays running at once store no duplicate on the stream and keep the order', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push(await writeTicket(2));
  const [first, second] = [relay({ batchSize: 7 }), relay({ batchSize: 7 })];
  await Promise.all([first.runOnce(), second.runOnce(), first.runOnce()]);
  const stored = await readStream({ servers: nats.url, stream: 'TICKETS' });
  expect(stored).toHaveLength(90);
  const versions = versionsById(stored);
  for (const id of ids) expect(versions.get(id)).toEqual([0, 1, 2]);
  expect(await pendingChanges()).toBe(0);
});

it('never loses a state change written while it publishes (it does not write the aggregate)', async () => {
  const running = relay({ intervalMs: 20, writes: connection });
  running.start();
  const id = await writeTicket(0);
  for (let price = 11; price <= 40; price++) {
    const head = (await store.get(id))!;
    await store.update(head, { price }, [
      newEvent('ticket.updated', {
        id,
        version: head.version + 1,
        title: 'Show',
        price,
        userId: head.userId,
      }),
    ]);
  }
  await eventually(async () => expect(await pendingChanges()).toBe(0), { timeoutMs: 30_000 });
  expect(await Tickets.findById(id).lean()).toMatchObject({ price: 40, version: 30 });
  expect(versionsById(await readStream({ servers: nats.url, stream: 'TICKETS' })).get(id)).toEqual(
    Array.from({ length: 31 }, (_, v) => v),
  );
});

it('reports pending events and the age of the oldest change as metrics', async () => {
  const metrics = new Registry();
  const withMetrics = relay({ metrics });
  await writeTicket(1);
  await sleep(50);
  expect(await metrics.getSingleMetricAsString('outbox_pending_events')).toMatch(/outbox_pending_events 2/);
  const oldest = (await metrics.getMetricsAsJSON()).find(
    (m) => m.name === 'outbox_oldest_pending_age_seconds',
  )!;
  expect(oldest.values[0]!.value).toBeGreaterThan(0);
  await withMetrics.runOnce();
  expect(await metrics.getSingleMetricAsString('outbox_pending_events')).toMatch(/outbox_pending_events 0/);
  expect(await metrics.getSingleMetricAsString('outbox_published_total')).toMatch(/outbox_published_total 2/);
});

it('refuses to build an event whose payload fails its schema, so the write fails instead', () => {
  expect(() => newEvent('ticket.created', { id: 'x', version: 0 })).toThrow(EventSchemaError);
});
