import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  objectId,
  readStream,
  startMongo,
  startNats,
} from '@ticketing/testing';
import mongoose, { type Connection } from 'mongoose';
import { Registry } from 'prom-client';
import { type Bus, connectBus } from '../bus/bus';
import { EventSchemaError } from '../events/errors';
import { createLogger } from '../logging';
import { AggregateStore, type StoreWiring } from '../store/aggregate-store';
import { sleep } from '../test-support/fixtures';
import { newEvent } from './event';
import { OutboxRelay } from './relay';

interface Ticket {
  title: string;
  price: number;
  userId: string;
}

const logger = createLogger({ service: 'test' });
let nats: NatsServerHandle;
let mongo: MongoHandle;
let connection: Connection;
let bus: Bus;
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  connection = await mongoose.createConnection(mongo.url).asPromise();
  bus = await connectBus({ servers: nats.url, name: 'outbox-test', logger });
  await bus.ensureStreams();
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  await connection.db!.collection('tickets').deleteMany({});
  await connection.db!.collection('tickets_changes').deleteMany({});
  await bus.jsm.streams.purge('TICKETS');
});

afterAll(async () => {
  await bus?.close();
  await connection?.close();
  await mongo?.stop();
  await nats?.close();
});

/** A relay with short timings, stopped after each test. */
function relay(overrides: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}) {
  const instance = new OutboxRelay({
    publisher: bus,
    logger,
    intervalMs: 100,
    graceMs: 0,
    initialBackoffMs: 50,
    maxBackoffMs: 500,
    ...overrides,
  });
  relays.push(instance);
  return instance;
}

/** The tickets store of a service whose relay is `outbox` (none: a writer that dies before it publishes). */
function ticketStore(outbox?: OutboxRelay, wiring: StoreWiring = {}) {
  const store = new AggregateStore<Ticket>(connection.db!, 'tickets', {}, { outbox, ...wiring });
  outbox?.register(store as AggregateStore<object>);
  return store;
}

/** Creates a ticket with its `ticket.created`, then `updates` updates each with its `ticket.updated`. */
async function writeTicket(store: AggregateStore<Ticket>, updates = 0) {
  const id = objectId();
  const state = { title: 'Show', price: 10, userId: objectId() };
  await store.decide(id, () => ({ state, events: [{ subject: 'ticket.created', data: { id, ...state } }] }));
  for (let n = 1; n <= updates; n++) {
    await store.decide(id, (current) => {
      const next = { ...state, price: current!.price + 1 };
      return { state: next, events: [{ subject: 'ticket.updated', data: { id, ...next } }] };
    });
  }
  return id;
}

async function pendingChanges() {
  return connection.db!.collection('tickets_changes').countDocuments({ published: false });
}

function versionsById(messages: Awaited<ReturnType<typeof readStream>>) {
  const versions = new Map<string, number[]>();
  for (const message of messages) {
    const data = message.data as { id: string; version: number };
    versions.set(data.id, [...(versions.get(data.id) ?? []), data.version]);
  }
  return versions;
}

it('publishes each committed event once, right after its write, in version order per aggregate', async () => {
  const running = relay({ intervalMs: 60_000 }); // no recovery pass during the test: only the live path
  running.start();
  const store = ticketStore(running);
  const ids = await Promise.all([writeTicket(store, 2), writeTicket(store, 0), writeTicket(store, 3)]);
  await running.drained();
  const stored = await readStream({ servers: nats.url, stream: 'TICKETS' });
  expect(stored).toHaveLength(8);
  const versions = versionsById(stored);
  expect(versions.get(ids[0])).toEqual([0, 1, 2]);
  expect(versions.get(ids[1])).toEqual([0]);
  expect(versions.get(ids[2])).toEqual([0, 1, 2, 3]);
  expect(await pendingChanges()).toBe(0);
});

it('a writer that died before publishing loses nothing: a recovery pass publishes its events in order', async () => {
  const id = await writeTicket(ticketStore(), 2);
  // It also died before one head: the pass writes the head before publishing (readers of an event find it).
  await connection.db!.collection('tickets').deleteOne({ _id: id as never });
  expect(await pendingChanges()).toBe(3);
  const recovering = relay();
  ticketStore(recovering);
  await recovering.recover();
  expect(await pendingChanges()).toBe(0);
  expect(versionsById(await readStream({ servers: nats.url, stream: 'TICKETS' })).get(id)).toEqual([0, 1, 2]);
  expect(await connection.db!.collection('tickets').findOne({ _id: id as never })).toMatchObject({
    price: 12,
    version: 2,
  });
});

it('leaves a young unpublished change to its writer until the grace period has passed', async () => {
  const id = await writeTicket(ticketStore());
  const patient = relay({ graceMs: 60_000 });
  ticketStore(patient);
  await patient.recover();
  expect(await pendingChanges()).toBe(1);
  expect(await readStream({ servers: nats.url, stream: 'TICKETS', filter: 'ticket.created' })).toHaveLength(
    0,
  );
  const impatient = relay({ graceMs: 0 });
  ticketStore(impatient);
  await impatient.recover();
  expect(versionsById(await readStream({ servers: nats.url, stream: 'TICKETS' })).get(id)).toEqual([0]);
});

it('keeps events while nats-server is down and publishes all of them, in order, after it restarts', async () => {
  const running = relay();
  running.start();
  const store = ticketStore(running);
  await nats.stop();
  const ids = [await writeTicket(store, 1), await writeTicket(store, 1)];
  await sleep(1500); // failed live publishes, then failed recovery passes with back-off
  expect(await pendingChanges()).toBe(4);
  await nats.restart();
  await eventually(async () => expect(await pendingChanges()).toBe(0), { timeoutMs: 20_000 });
  const stored = await readStream({ servers: nats.url, stream: 'TICKETS' });
  expect(stored).toHaveLength(4);
  const versions = versionsById(stored);
  for (const id of ids) expect(versions.get(id)).toEqual([0, 1]);
  // Back to the live path: the next write is out without waiting for a pass.
  const next = await writeTicket(store);
  await running.drained();
  expect(versionsById(await readStream({ servers: nats.url, stream: 'TICKETS' })).get(next)).toEqual([0]);
});

it('two relays recovering at once store no duplicate on the stream and keep the order', async () => {
  const writer = ticketStore();
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push(await writeTicket(writer, 2));
  const [first, second] = [relay(), relay()];
  ticketStore(first);
  ticketStore(second);
  await Promise.all([first.recover(), second.recover()]);
  await first.recover();
  const stored = await readStream({ servers: nats.url, stream: 'TICKETS' });
  expect(stored).toHaveLength(90);
  const versions = versionsById(stored);
  for (const id of ids) expect(versions.get(id)).toEqual([0, 1, 2]);
  expect(await pendingChanges()).toBe(0);
});

it('never loses a state change written while it publishes (it writes only the published flags)', async () => {
  const running = relay({ intervalMs: 20 });
  running.start();
  const store = ticketStore(running);
  const id = await writeTicket(store, 30);
  await eventually(async () => expect(await pendingChanges()).toBe(0), { timeoutMs: 30_000 });
  expect(await store.get(id)).toMatchObject({ price: 40, version: 30 });
  expect(versionsById(await readStream({ servers: nats.url, stream: 'TICKETS' })).get(id)).toEqual(
    Array.from({ length: 31 }, (_, v) => v),
  );
});

it('reports pending events and the age of the oldest change as metrics', async () => {
  const metrics = new Registry();
  const withMetrics = relay({ metrics, graceMs: 60_000 });
  ticketStore(withMetrics);
  await writeTicket(ticketStore(), 1);
  await sleep(50);
  await withMetrics.recover(); // sees them, leaves them (young)
  expect(await metrics.getSingleMetricAsString('outbox_pending_events')).toMatch(/outbox_pending_events 2/);
  const oldest = (await metrics.getMetricsAsJSON()).find(
    (m) => m.name === 'outbox_oldest_pending_age_seconds',
  )!;
  expect(oldest.values[0]!.value).toBeGreaterThan(0);
  const publisherMetrics = new Registry();
  const publishing = relay({ metrics: publisherMetrics });
  ticketStore(publishing);
  await publishing.recover();
  await withMetrics.recover();
  expect(await metrics.getSingleMetricAsString('outbox_pending_events')).toMatch(/outbox_pending_events 0/);
  expect(await publisherMetrics.getSingleMetricAsString('outbox_published_total')).toMatch(
    /outbox_published_total 2/,
  );
});

it('refuses to build an event whose payload fails its schema, so the write fails instead', () => {
  expect(() => newEvent('ticket.created', { id: 'x', version: 0 })).toThrow(EventSchemaError);
});
