import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  readStream,
  startMongo,
  startNats,
} from '@ticketing/testing';
import mongoose, { type Connection, type Model, Schema } from 'mongoose';
import { Registry } from 'prom-client';
import { type Bus, connectBus } from '../bus/bus';
import { EventSchemaError } from '../events/errors';
import { createLogger } from '../logging';
import { objectId, sleep } from '../test-support/fixtures';
import { newEvent } from './event';
import { outboxPlugin, pushEvents, type WithOutbox } from './outbox';
import { OutboxRelay } from './relay';

interface Ticket extends WithOutbox {
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
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  connection = await mongoose.createConnection(mongo.url).asPromise();
  const schema = new Schema<Ticket>({ title: String, price: Number, userId: String, version: Number });
  schema.plugin(outboxPlugin);
  Tickets = connection.model<Ticket>('Ticket', schema);
  bus = await connectBus({ servers: nats.url, name: 'outbox-test', logger });
  await bus.ensureStreams();
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  await Tickets.deleteMany({});
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
    collections: [Tickets.collection],
    logger,
    intervalMs: 100,
    initialBackoffMs: 50,
    maxBackoffMs: 500,
    ...overrides,
  });
  relays.push(instance);
  return instance;
}

/** Creates a ticket and its `ticket.created` in one insert, then `updates` updates each with its event. */
async function writeTicket(updates = 0) {
  const _id = new mongoose.Types.ObjectId();
  const base = { title: 'Show', price: 10, userId: objectId() };
  const created = newEvent('ticket.created', { id: _id.toHexString(), version: 0, ...base });
  await Tickets.create({ _id, ...base, version: 0, outbox: [created] });
  for (let version = 1; version <= updates; version++) {
    const updated = newEvent('ticket.updated', {
      id: _id.toHexString(),
      version,
      ...base,
      price: 10 + version,
    });
    const result = await Tickets.updateOne(
      { _id, version: version - 1 },
      { $set: { version, price: 10 + version }, ...pushEvents(updated) },
    );
    expect(result.modifiedCount).toBe(1);
  }
  return _id.toHexString();
}

async function pendingEvents() {
  const docs = await Tickets.find({}).lean();
  return docs.reduce((sum, doc) => sum + doc.outbox.length, 0);
}

function versionsById(messages: Awaited<ReturnType<typeof readStream>>) {
  const versions = new Map<string, number[]>();
  for (const message of messages) {
    const data = message.data as { id: string; version: number };
    versions.set(data.id, [...(versions.get(data.id) ?? []), data.version]);
  }
  return versions;
}

it('publishes each written event exactly once, in order per aggregate, and empties the outbox', async () => {
  const ids = [await writeTicket(2), await writeTicket(0), await writeTicket(3)];
  const published = await relay().runOnce();
  expect(published).toBe(3 + 1 + 4);
  const stored = await readStream({ servers: nats.url, stream: 'TICKETS' });
  expect(stored).toHaveLength(8);
  const versions = versionsById(stored);
  expect(versions.get(ids[0]!)).toEqual([0, 1, 2]);
  expect(versions.get(ids[1]!)).toEqual([0]);
  expect(versions.get(ids[2]!)).toEqual([0, 1, 2, 3]);
  expect(stored.filter((m) => m.subject === 'ticket.created')).toHaveLength(3);
  expect(await pendingEvents()).toBe(0);
  expect(await relay().runOnce()).toBe(0);
});

it('publishes right after a kick, and on its timer for writes nobody kicked', async () => {
  const running = relay({ intervalMs: 200 });
  running.start();
  await writeTicket(1); // no kick: the timer finds it
  await eventually(async () =>
    expect(await readStream({ servers: nats.url, stream: 'TICKETS' })).toHaveLength(2),
  );
  await writeTicket(0);
  running.kick();
  await eventually(async () =>
    expect(await readStream({ servers: nats.url, stream: 'TICKETS' })).toHaveLength(3),
  );
  expect(await pendingEvents()).toBe(0);
});

it('is kicked by writes through the model, without waiting for its timer', async () => {
  const kicked = relay({ intervalMs: 60_000, writes: connection });
  kicked.start();
  await eventually(async () => expect(await pendingEvents()).toBe(0));
  const id = await writeTicket(1); // the create and the update each emit on the connection
  await eventually(async () => expect(await pendingEvents()).toBe(0), { timeoutMs: 3000 });
  expect(versionsById(await readStream({ servers: nats.url, stream: 'TICKETS' })).get(id)).toEqual([0, 1]);
});

it('keeps events while nats-server is down and publishes all of them after it restarts', async () => {
  await nats.stop();
  const ids = [await writeTicket(1), await writeTicket(1)];
  const running = relay();
  running.start();
  running.kick();
  await sleep(1500); // several failed passes with back-off
  expect(await pendingEvents()).toBe(4);
  await nats.restart();
  await eventually(async () => expect(await pendingEvents()).toBe(0), { timeoutMs: 20_000 });
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
  expect(await pendingEvents()).toBe(3);
  const replacement = relay();
  replacement.start();
  await eventually(async () => expect(await pendingEvents()).toBe(0));
  expect(versionsById(await readStream({ servers: nats.url, stream: 'TICKETS' })).get(id)).toEqual([0, 1, 2]);
});

it('two relays running at once store no duplicate on the stream', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push(await writeTicket(2));
  const [first, second] = [relay({ batchSize: 7 }), relay({ batchSize: 7 })];
  const counts = await Promise.all([first.runOnce(), second.runOnce(), first.runOnce()]);
  expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(90);
  const stored = await readStream({ servers: nats.url, stream: 'TICKETS' });
  expect(stored).toHaveLength(90);
  const versions = versionsById(stored);
  for (const id of ids) expect(versions.get(id)).toEqual([0, 1, 2]);
  expect(await pendingEvents()).toBe(0);
});

it('reports pending events and the age of the oldest as metrics', async () => {
  const metrics = new Registry();
  const withMetrics = relay({ metrics });
  await writeTicket(1);
  await sleep(50);
  const before = await metrics.getSingleMetricAsString('outbox_pending_events');
  expect(before).toMatch(/outbox_pending_events 2/);
  const age = await metrics.getMetricsAsJSON();
  const oldest = age.find((m) => m.name === 'outbox_oldest_pending_age_seconds')!;
  expect((oldest.values[0]!.value as number) > 0).toBe(true);
  await withMetrics.runOnce();
  expect(await metrics.getSingleMetricAsString('outbox_pending_events')).toMatch(/outbox_pending_events 0/);
  expect(await metrics.getSingleMetricAsString('outbox_published_total')).toMatch(/outbox_published_total 2/);
});

it('refuses to build an event whose payload fails its schema, so the write fails instead', () => {
  expect(() => newEvent('ticket.created', { id: 'x', version: 0 })).toThrow(EventSchemaError);
});
