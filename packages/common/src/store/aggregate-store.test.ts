import { type MongoHandle, objectId, startMongo } from '@ticketing/testing';
import mongoose, { type Connection, type Model, Schema } from 'mongoose';
import { OutOfOrderError } from '../events/errors';
import { newEvent } from '../outbox/event';
import { ticketCreated } from '../test-support/fixtures';
import { AggregateStore } from './aggregate-store';
import { AggregateExistsError, VersionConflictError } from './errors';

interface Ticket {
  title: string;
  price: number;
  userId: string;
  version: number;
}

let mongo: MongoHandle;
let connection: Connection;
let Tickets: Model<Ticket>;
let store: AggregateStore<Omit<Ticket, 'version'>>;

beforeAll(async () => {
  mongo = await startMongo();
  connection = await mongoose.createConnection(mongo.url).asPromise();
  Tickets = connection.model<Ticket>(
    'Ticket',
    new Schema<Ticket>({
      title: String,
      price: Number,
      userId: String,
      version: { type: Number, required: true },
    }),
  );
  store = new AggregateStore(Tickets as never, { repairAfterMs: 200 });
  await store.init();
});

afterAll(async () => {
  await connection?.close();
  await mongo?.stop();
});

function fields(title = 'Show') {
  return { title, price: 10, userId: objectId() };
}

describe('create and update', () => {
  it('writes version 0, then each update as the next version, with its events in the change document', async () => {
    const id = objectId();
    const created = newEvent('ticket.created', ticketCreated({ id }));
    const v0 = await store.create(id, fields(), [created]);
    expect(v0.version).toBe(0);
    const v1 = await store.update(v0, { title: 'Better show' });
    expect(v1).toMatchObject({ title: 'Better show', version: 1 });
    expect(await Tickets.findById(id).lean()).toMatchObject({ title: 'Better show', price: 10, version: 1 });
    const changes = await store.changes.find({ aggregateId: id }).sort({ version: 1 }).toArray();
    expect(changes.map((c) => [c._id, c.version, c.published, c.events.length])).toEqual([
      [`${id}:0`, 0, false, 1],
      [`${id}:1`, 1, false, 0],
    ]);
    expect(changes[0]!.events[0]!.id).toBe(created.id);
  });

  it('refuses a second create of the same id', async () => {
    const id = objectId();
    await store.create(id, fields());
    await expect(store.create(id, fields('again'))).rejects.toBeInstanceOf(AggregateExistsError);
  });

  it('lets exactly one of 25 concurrent writers of the same version win; the others get a conflict', async () => {
    const id = objectId();
    const v0 = await store.create(id, fields());
    const results = await Promise.allSettled(
      Array.from({ length: 25 }, (_, i) => store.update(v0, { title: `writer ${i}` })),
    );
    const winners = results.filter((r) => r.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((r) => r.status === 'rejected')) {
      expect((loser as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
    }
    const winner = (winners[0] as PromiseFulfilledResult<{ title: string }>).value;
    expect(await Tickets.findById(id).lean()).toMatchObject({ title: winner.title, version: 1 });
    expect(await store.changes.countDocuments({ aggregateId: id })).toBe(2);
    // Every change has its pending marker (written before the claim); the 24 losers removed theirs.
    expect((await store.pending.find({ aggregateId: id }).toArray()).map((m) => m.changeId).sort()).toEqual([
      `${id}:0`,
      `${id}:1`,
    ]);
  });

  it('loses no update under concurrent read-decide-write loops that retry on conflict', async () => {
    const id = objectId();
    await store.create(id, { ...fields(), price: 0 });
    const increment = async () => {
      for (;;) {
        const current = (await store.get(id))!;
        try {
          return await store.update(current, { price: current.price + 1 });
        } catch (error) {
          if (!(error instanceof VersionConflictError)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, increment));
    expect(await Tickets.findById(id).lean()).toMatchObject({ price: 20, version: 20 });
  });
});

describe('applyVersion (replicas of another service’s aggregate)', () => {
  it('applies in order, ignores repeats, holds back gaps', async () => {
    const id = objectId();
    await expect(store.applyVersion(id, 1, fields('v1'))).rejects.toBeInstanceOf(OutOfOrderError);
    expect(await store.applyVersion(id, 0, fields('v0'))).toBe('applied');
    expect(await store.applyVersion(id, 0, fields('v0 again'))).toBe('duplicate');
    await expect(store.applyVersion(id, 2, fields('v2'))).rejects.toEqual(
      expect.objectContaining({ name: 'OutOfOrderError', appliedVersion: 0, incomingVersion: 2 }),
    );
    expect(await store.applyVersion(id, 1, fields('v1'))).toBe('applied');
    expect(await store.applyVersion(id, 2, fields('v2'))).toBe('applied');
    expect(await store.applyVersion(id, 1, fields('v1 again'))).toBe('duplicate');
    expect(await Tickets.findById(id).lean()).toMatchObject({ title: 'v2', version: 2 });
  });

  it('applies a version once when the same event is handled concurrently', async () => {
    const id = objectId();
    await store.applyVersion(id, 0, fields('v0'));
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => store.applyVersion(id, 1, fields('v1'))),
    );
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    expect(await store.changes.countDocuments({ aggregateId: id })).toBe(2);
  });

  it('converges to the same state whatever the delivery order', async () => {
    const id = objectId();
    const pending = [3, 1, 4, 0, 2, 1, 0].map((version) => ({ version, state: fields(`v${version}`) }));
    while (pending.length > 0) {
      const event = pending.shift()!;
      try {
        await store.applyVersion(id, event.version, event.state);
      } catch (error) {
        if (!(error instanceof OutOfOrderError)) throw error;
        pending.push(event); // what the listener's delayed nak does
      }
    }
    expect(await Tickets.findById(id).lean()).toMatchObject({ title: 'v4', version: 4 });
  });
});

describe('a writer that died between its claim and its head', () => {
  it('is rolled forward once its change is old enough, and later writers carry on', async () => {
    const id = objectId();
    const v0 = await store.create(id, fields('v0'));
    // The crash: the change for version 1 is committed, the head write never happened.
    await store.changes.insertOne({
      _id: `${id}:1`,
      aggregateId: id,
      version: 1,
      state: { ...fields('v1 committed'), userId: v0.userId },
      events: [],
      published: false,
      at: new Date(Date.now() - 1000),
    });
    await expect(store.update(v0, { title: 'stale writer' })).rejects.toBeInstanceOf(VersionConflictError);
    expect(await store.applyVersion(id, 2, fields('v2'))).toBe('applied'); // repairs v1's head, then applies
    expect(await Tickets.findById(id).lean()).toMatchObject({ title: 'v2', version: 2 });
  });

  it('is not overtaken while its change is fresh (its writer may still be at work)', async () => {
    // "Fresh" for a minute here, so a slow machine cannot age the change past it during the test.
    const patient = new AggregateStore(Tickets as never, { repairAfterMs: 60_000 });
    const id = objectId();
    await patient.create(id, fields('v0'));
    await patient.changes.insertOne({
      _id: `${id}:1`,
      aggregateId: id,
      version: 1,
      state: fields('v1 in progress'),
      events: [],
      published: false,
      at: new Date(),
    });
    await expect(patient.applyVersion(id, 2, fields('v2'))).rejects.toBeInstanceOf(OutOfOrderError);
    expect(await Tickets.findById(id).lean()).toMatchObject({ title: 'v0', version: 0 });
  });
});
