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
import { AggregateStore } from '../store/aggregate-store';
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
  for (const name of ['tickets', 'tickets_changes', 'outbox_writers']) {
    await connection.db!.collection(name).deleteMany({});
  }
  await bus.jsm.streams.purge('TICKETS');
});

afterAll(async () => {
  await bus?.close();
  await connection?.close();
  await mongo?.stop();
  await nats?.close();
});

/** A started relay with short timings and its tickets store, stopped after each test. */
async function service(overrides: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}) {
  const relay = new OutboxRelay({
    publisher: bus,
    db: connection.db!,
    logger,
    heartbeatMs: 100,
    staleAfterMs: 500,
    epochMs: 1000,
    initialBackoffMs: 50,
    maxBackoffMs: 500,
    ...overrides,
  });
  relays.push(relay);
  const store = new AggregateStore<Ticket>(connection.db!, 'tickets', {}, { outbox: relay });
  relay.register(store as AggregateStore<object>);
  await relay.init();
  await relay.start();
  return { relay, store };
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

function versionsById(messages: Awaited<ReturnType<typeof readStream>>) {
  const versions = new Map<string, number[]>();
  for (const message of messages) {
    const data = message.data as { id: string; version: number };
    versions.set(data.id, [...(versions.get(data.id) ?? []), data.version]);
  }
  return versions;
}

const stream = () => readStream({ servers: nats.url, stream: 'TICKETS' });

/**
 * A relay whose process dies: it wrote (its writes still claim it as their relay) and never published. Its
 * publisher fails every time, then it is dropped without a stop, as a kill -9 leaves it.
 */
async function dyingService() {
  const dying = new OutboxRelay({
    // Publishing never completes: the process dies first.
    publisher: { publishEvent: () => new Promise(() => undefined) },
    db: connection.db!,
    logger: createLogger({ service: 'dying', level: 'silent' }),
    heartbeatMs: 100,
    epochMs: 1000,
  });
  const store = new AggregateStore<Ticket>(connection.db!, 'tickets', {}, { outbox: dying });
  dying.register(store as AggregateStore<object>);
  await dying.start();
  return {
    store,
    async die() {
      // What a kill -9 leaves: its record and its writes, and no more heartbeats.
      clearInterval((dying as unknown as { timer: NodeJS.Timeout }).timer);
    },
  };
}

it('publishes each committed event once, right after its write, in version order per aggregate', async () => {
  const { relay, store } = await service();
  const ids = await Promise.all([writeTicket(store, 2), writeTicket(store, 0), writeTicket(store, 3)]);
  await relay.drained();
  const stored = await stream();
  expect(stored).toHaveLength(8);
  const versions = versionsById(stored);
  expect(versions.get(ids[0])).toEqual([0, 1, 2]);
  expect(versions.get(ids[1])).toEqual([0]);
  expect(versions.get(ids[2])).toEqual([0, 1, 2, 3]);
  // Nothing is written back per change: the relay's one record is all the bookkeeping.
  const changes = await connection.db!.collection('tickets_changes').find({}).toArray();
  expect(changes.every((change) => change.writer?.startsWith(`${relay.id}.`))).toBe(true);
  expect(changes.some((change) => 'published' in change)).toBe(false);
});

it('a relay that died before publishing loses nothing: another publishes its events in order, heads first', async () => {
  const dying = await dyingService();
  const id = await writeTicket(dying.store, 2);
  await dying.die();
  // It also died before one head: the recovery writes the head before publishing (readers of an event find it).
  await connection.db!.collection('tickets').deleteOne({ _id: id as never });
  expect(await stream()).toHaveLength(0);
  const { relay } = await service();
  await eventually(async () => expect(versionsById(await stream()).get(id)).toEqual([0, 1, 2]), {
    timeoutMs: 10_000,
  });
  expect(await connection.db!.collection('tickets').findOne({ _id: id as never })).toMatchObject({
    price: 12,
    version: 2,
  });
  // Recovered once: its record is gone, and the survivor leaves it alone afterwards.
  await eventually(async () =>
    expect(
      await connection.db!.collection('outbox_writers').countDocuments({ _id: { $ne: relay.id } as never }),
    ).toBe(0),
  );
  await sleep(600);
  expect(await stream()).toHaveLength(3);
});

it('leaves a live relay’s changes to it: a beating relay is never recovered by another', async () => {
  const slow = await service({
    publisher: { publishEvent: (event) => sleep(1500).then(() => bus.publishEvent(event)) },
  });
  const watcher = await service();
  await writeTicket(slow.store);
  await sleep(1000); // the watcher ran several recovery passes meanwhile
  expect(await stream()).toHaveLength(0);
  await watcher.relay.stop();
  expect(
    await connection.db!.collection('outbox_writers').findOne({ _id: slow.relay.id as never }),
  ).not.toBeNull();
});

it('keeps events while nats-server is down and publishes all of them, in order, after it restarts', async () => {
  const { relay, store } = await service();
  await nats.stop();
  const ids = [await writeTicket(store, 1), await writeTicket(store, 1)];
  await sleep(1000); // failed publishes with back-off
  await nats.restart();
  await eventually(async () => expect(await stream()).toHaveLength(4), { timeoutMs: 20_000 });
  const versions = versionsById(await stream());
  for (const id of ids) expect(versions.get(id)).toEqual([0, 1]);
  await relay.drained();
});

it('a relay stopped while NATS is down records what it owes, and the next one publishes it', async () => {
  const first = await service({ maxBackoffMs: 200 });
  await nats.stop();
  const id = await writeTicket(first.store, 1);
  await first.relay.stop();
  const record = await connection.db!.collection('outbox_writers').findOne({ _id: first.relay.id as never });
  expect(record?.open.length).toBeGreaterThan(0);
  await nats.restart();
  await service();
  await eventually(async () => expect(versionsById(await stream()).get(id)).toEqual([0, 1]), {
    timeoutMs: 15_000,
  });
});

it('two relays recovering the same dead relay store no duplicate on the stream and keep the order', async () => {
  const dying = await dyingService();
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push(await writeTicket(dying.store, 2));
  await dying.die();
  await Promise.all([service(), service()]);
  await eventually(async () => expect(await stream()).toHaveLength(90), { timeoutMs: 15_000 });
  await sleep(600);
  const stored = await stream();
  expect(stored).toHaveLength(90);
  const versions = versionsById(stored);
  for (const id of ids) expect(versions.get(id)).toEqual([0, 1, 2]);
});

it('never loses a state change written while it publishes', async () => {
  const { relay, store } = await service();
  const id = await writeTicket(store, 30);
  await relay.drained();
  expect(await store.get(id)).toMatchObject({ price: 40, version: 30 });
  expect(versionsById(await stream()).get(id)).toEqual(Array.from({ length: 31 }, (_, v) => v));
});

it('reports pending events, the age of the oldest and what was published as metrics', async () => {
  const metrics = new Registry();
  const { relay, store } = await service({
    metrics,
    publisher: { publishEvent: (event) => sleep(400).then(() => bus.publishEvent(event)) },
  });
  void writeTicket(store, 1);
  await eventually(async () =>
    expect(await metrics.getSingleMetricAsString('outbox_pending_events')).toMatch(/outbox_pending_events 1/),
  );
  await sleep(100);
  const oldest = (await metrics.getMetricsAsJSON()).find(
    (m) => m.name === 'outbox_oldest_pending_age_seconds',
  )!;
  expect(oldest.values[0]!.value).toBeGreaterThan(0);
  await eventually(async () => expect(await stream()).toHaveLength(2), { timeoutMs: 5000 });
  await relay.drained();
  expect(await metrics.getSingleMetricAsString('outbox_pending_events')).toMatch(/outbox_pending_events 0/);
  expect(await metrics.getSingleMetricAsString('outbox_published_total')).toMatch(/outbox_published_total 2/);
});

it('refuses to build an event whose payload fails its schema, so the write fails instead', () => {
  expect(() => newEvent('ticket.created', { id: 'x', version: 0 })).toThrow(EventSchemaError);
});
