import { type MongoHandle, objectId, startMongo } from '@ticketing/testing';
import mongoose, { type Connection } from 'mongoose';
import { EventSchemaError, OutOfOrderError } from '../events/errors';
import { AggregateStore, type ChangeDocument, type StoreWiring } from './aggregate-store';
import { AggregateExistsError, ContentionError } from './errors';
import { ChangeNotices } from './notices';

interface Ticket {
  title: string;
  price: number;
  userId: string;
}

let mongo: MongoHandle;
let connection: Connection;
const notices = new ChangeNotices();
const published: ChangeDocument[] = [];

/** An outbox that takes every written change, as the relay does. */
const outbox = {
  claim: () => ({
    writer: 'test.1',
    written: (_store: unknown, change: ChangeDocument) => void published.push(change),
    abandoned: () => undefined,
  }),
};

function ticketStore(name: string, wiring: StoreWiring = {}) {
  return new AggregateStore<Ticket>(
    connection.db!,
    name,
    {},
    { repairAfterMs: 200, notices, outbox, ...wiring },
  );
}

let store: AggregateStore<Ticket>;

beforeAll(async () => {
  mongo = await startMongo();
  connection = await mongoose.createConnection(mongo.url).asPromise();
  store = ticketStore('tickets', { maxAttempts: 40 });
  await store.init();
});

afterAll(async () => {
  await connection?.close();
  await mongo?.stop();
});

function ticket(title = 'Show'): Ticket {
  return { title, price: 10, userId: objectId() };
}

describe('decide', () => {
  it('writes version 0, then each decision as the next version, its events stamped with that version', async () => {
    const id = objectId();
    const first = ticket();
    const created = await store.decide(id, () => ({
      state: first,
      events: [{ subject: 'ticket.created', data: { id, ...first } }],
    }));
    expect(created).toEqual({ changed: true, latest: { _id: id, version: 0, ...first } });
    const renamed = await store.decide(id, (current) => ({ state: { ...current!, title: 'Better show' } }));
    expect(renamed.latest).toMatchObject({ title: 'Better show', price: 10, version: 1 });
    expect(await store.get(id)).toEqual({ _id: id, version: 1, ...first, title: 'Better show' });
    const changes = await store.history(id);
    expect(changes.map((c) => [c._id, c.version, c.writer, c.events.length])).toEqual([
      [`${id}:0`, 0, 'test.1', 1],
      // A change without events has nothing to publish: no relay to tag it with.
      [`${id}:1`, 1, undefined, 0],
    ]);
    expect(changes[0]!.events[0]!.data).toEqual({ id, version: 0, ...first, currency: 'usd' });
    expect(published.map((c) => c._id)).toContain(`${id}:0`);
    expect(published.map((c) => c._id)).not.toContain(`${id}:1`);
  });

  it('changes nothing when the decision is undefined', async () => {
    const id = objectId();
    await store.create(id, ticket());
    expect(await store.decide(id, () => undefined)).toMatchObject({ changed: false, latest: { version: 0 } });
    expect(await store.history(id)).toHaveLength(1);
  });

  it('refuses a second create of the same id', async () => {
    const id = objectId();
    await store.create(id, ticket());
    await expect(store.create(id, ticket('again'))).rejects.toBeInstanceOf(AggregateExistsError);
  });

  it('writes nothing when an event fails its schema', async () => {
    const id = objectId();
    await expect(
      store.decide(id, () => ({
        state: ticket(),
        events: [{ subject: 'ticket.created', data: { id, title: '', price: -1, userId: 'nobody' } }],
      })),
    ).rejects.toBeInstanceOf(EventSchemaError);
    expect(await store.get(id)).toBeNull();
    expect(await store.history(id)).toHaveLength(0);
  });

  it('lets exactly one of 25 concurrent writers that read the same version claim the next one', async () => {
    const id = objectId();
    await store.create(id, ticket());
    const outcomes = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        store.decide(id, (current) =>
          current!.version === 0 ? { state: { ...current!, title: `writer ${i}` } } : undefined,
        ),
      ),
    );
    const winners = outcomes.filter((outcome) => outcome.changed);
    expect(winners).toHaveLength(1);
    expect(await store.get(id)).toMatchObject({ title: winners[0]!.latest!.title, version: 1 });
    expect(await store.history(id)).toHaveLength(2);
  });

  it('loses no decision under 20 concurrent writers: each retries on a lost version until it lands', async () => {
    const id = objectId();
    await store.create(id, { ...ticket(), price: 0 });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        store.decide(id, (current) => ({ state: { ...current!, price: current!.price + 1 } })),
      ),
    );
    expect(await store.get(id)).toMatchObject({ price: 20, version: 20 });
  });

  it('gives up with ContentionError when others keep winning', async () => {
    const impatient = ticketStore('tickets', { maxAttempts: 2 });
    const id = objectId();
    await impatient.create(id, ticket());
    let decisions = 0;
    await expect(
      impatient.decide(id, async (current) => {
        decisions++;
        // Someone else claims the next version every time this writer is about to.
        await store.decide(id, (latest) => ({ state: { ...latest!, title: `other ${decisions}` } }));
        return { state: { ...current!, title: 'never' } };
      }),
    ).rejects.toBeInstanceOf(ContentionError);
    expect(decisions).toBe(2);
  });
});

describe('apply (a replica of another service’s aggregate)', () => {
  const replicate = (id: string, version: number, title: string) =>
    store.apply({ id, version }, () => ({ state: { ...ticket(title), price: version } }));

  it('applies in order, ignores repeats, holds back gaps', async () => {
    const id = objectId();
    await expect(replicate(id, 1, 'v1')).rejects.toBeInstanceOf(OutOfOrderError);
    expect(await replicate(id, 0, 'v0')).toBe('applied');
    expect(await replicate(id, 0, 'v0 again')).toBe('duplicate');
    await expect(replicate(id, 2, 'v2')).rejects.toEqual(
      expect.objectContaining({ name: 'OutOfOrderError', appliedVersion: 0, incomingVersion: 2 }),
    );
    expect(await replicate(id, 1, 'v1')).toBe('applied');
    expect(await replicate(id, 2, 'v2')).toBe('applied');
    expect(await replicate(id, 1, 'v1 again')).toBe('duplicate');
    expect(await store.get(id)).toMatchObject({ title: 'v2', version: 2 });
  });

  it('applies a version once when the same event is handled concurrently', async () => {
    const id = objectId();
    await replicate(id, 0, 'v0');
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => replicate(id, 1, 'v1')));
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    expect(await store.history(id)).toHaveLength(2);
  });

  it('converges to the same state whatever the delivery order', async () => {
    const id = objectId();
    const pending = [3, 1, 4, 0, 2, 1, 0];
    while (pending.length > 0) {
      const version = pending.shift()!;
      try {
        await replicate(id, version, `v${version}`);
      } catch (error) {
        if (!(error instanceof OutOfOrderError)) throw error;
        pending.push(version); // what the listener's delayed nak does
      }
    }
    expect(await store.get(id)).toMatchObject({ title: 'v4', version: 4 });
  });

  it('with `into`, records each source’s versions in the target and changes the target once per version', async () => {
    const target = objectId();
    await store.create(target, { ...ticket('held by nobody'), price: 0 });
    const [a, b] = [objectId(), objectId()];
    const follow = (source: string, version: number) =>
      store.apply(
        { id: source, version },
        (current) => ({ state: { ...current!, title: `${source} v${version}`, price: current!.price + 1 } }),
        { into: target },
      );
    expect(await follow(a, 0)).toBe('applied');
    await expect(follow(b, 1)).rejects.toBeInstanceOf(OutOfOrderError);
    expect(await follow(b, 0)).toBe('applied');
    expect(await follow(a, 0)).toBe('duplicate');
    expect(await follow(b, 1)).toBe('applied');
    // Three versions applied, three changes of the target on top of its creation; decide keeps the record.
    await store.decide(target, (current) => ({ state: { ...current!, price: 100 } }));
    expect(await follow(a, 0)).toBe('duplicate');
    expect(await store.get(target)).toMatchObject({ title: `${b} v1`, price: 100, version: 4 });
    expect(Object.keys((await store.get(target))!)).not.toContain('_applied');
  });
});

describe('apply with an effect', () => {
  it('runs the effect on the version before, and records the version only once the effect is done', async () => {
    const id = objectId();
    const seen: Array<[number, number | undefined]> = [];
    const effect = (version: number) => async (current: { version: number } | null) => {
      seen.push([version, current?.version]);
    };
    const apply = (version: number, options: { fail?: boolean } = {}) =>
      store.apply({ id, version }, () => ({ state: ticket(`v${version}`) }), {
        effect: async (current) => {
          await effect(version)(current);
          if (options.fail) throw new Error('effect failed');
        },
      });
    expect(await apply(0)).toBe('applied');
    // An effect that fails leaves the version unrecorded: the redelivery runs it again, then records.
    await expect(apply(1, { fail: true })).rejects.toThrow('effect failed');
    expect(await store.get(id)).toMatchObject({ version: 0 });
    await expect(apply(2)).rejects.toBeInstanceOf(OutOfOrderError);
    expect(await apply(1)).toBe('applied');
    // Once recorded, a redelivery is a duplicate and does not run the effect again.
    expect(await apply(1)).toBe('duplicate');
    expect(seen).toEqual([
      [0, undefined],
      [1, 0],
      [1, 0],
    ]);
  });
});

describe('at', () => {
  it('reads one version as its change wrote it, also one whose head was never written', async () => {
    const id = objectId();
    await store.create(id, ticket('v0'));
    await store.decide(id, (current) => ({ state: { ...current!, title: 'v1' } }));
    await store.changes.insertOne({
      _id: `${id}:2`,
      aggregateId: id,
      version: 2,
      state: { ...ticket('v2 without head') },
      events: [],
      at: new Date(),
    });
    expect(await store.at(id, 0)).toMatchObject({ _id: id, version: 0, title: 'v0' });
    expect(await store.at(id, 1)).toMatchObject({ _id: id, version: 1, title: 'v1' });
    expect(await store.at(id, 2)).toMatchObject({ version: 2, title: 'v2 without head' });
    expect(await store.at(id, 3)).toBeNull();
    expect(await store.get(id)).toMatchObject({ version: 1 });
  });
});

describe('a writer that died between its change and its head', () => {
  async function crashAfterChange(on: AggregateStore<Ticket>, id: string, version: number, ageMs: number) {
    await on.changes.insertOne({
      _id: `${id}:${version}`,
      aggregateId: id,
      version,
      state: { ...ticket(`v${version} committed`) },
      events: [],
      at: new Date(Date.now() - ageMs),
    });
  }

  it('is rolled forward by the next writer once its change is old enough, which then decides on top', async () => {
    const id = objectId();
    await store.create(id, ticket('v0'));
    await crashAfterChange(store, id, 1, 1000);
    const next = await store.decide(id, (current) => ({ state: { ...current!, price: 99 } }));
    expect(next.latest).toMatchObject({ title: 'v1 committed', price: 99, version: 2 });
  });

  it('at version 0, is rolled forward by createOnce, which answers the aggregate and says it was not created', async () => {
    const id = objectId();
    await crashAfterChange(store, id, 0, 0);
    expect(await store.get(id)).toBeNull();
    const again = await store.createOnce(id, ticket('retried'));
    expect(again).toEqual({
      latest: expect.objectContaining({ title: 'v0 committed', version: 0 }),
      created: false,
    });
    expect(await store.get(id)).toMatchObject({ title: 'v0 committed', version: 0 });
    expect(await store.createOnce(objectId(), ticket('new'))).toMatchObject({ created: true });
  });

  it('is rolled forward before a replica holds back the next version', async () => {
    const id = objectId();
    await store.apply({ id, version: 0 }, () => ({ state: ticket('v0') }));
    await crashAfterChange(store, id, 1, 1000);
    expect(await store.apply({ id, version: 2 }, () => ({ state: ticket('v2') }))).toBe('applied');
    expect(await store.get(id)).toMatchObject({ title: 'v2', version: 2 });
  });

  it('is not overtaken while its change is fresh (its writer may still be at work)', async () => {
    // "Fresh" for a minute here, so a slow machine cannot age the change past it during the test.
    const patient = ticketStore('tickets', { repairAfterMs: 60_000, maxAttempts: 3 });
    const id = objectId();
    await patient.apply({ id, version: 0 }, () => ({ state: ticket('v0') }));
    await crashAfterChange(patient, id, 1, 0);
    await expect(patient.apply({ id, version: 2 }, () => ({ state: ticket('v2') }))).rejects.toBeInstanceOf(
      OutOfOrderError,
    );
    expect(await patient.get(id)).toMatchObject({ title: 'v0', version: 0 });
  });
});

describe('waitFor', () => {
  it('answers as soon as the aggregate is written, woken by the write rather than by polling', async () => {
    const id = objectId();
    const started = Date.now();
    const waiting = store.waitFor(id, (head) => head !== null, { timeoutMs: 10_000 });
    setTimeout(() => void store.create(id, ticket('late')), 50);
    expect(await waiting).toMatchObject({ title: 'late' });
    // Woken by the notice: well before the half-second re-read a lost notice would fall back to.
    expect(Date.now() - started).toBeLessThan(450);
  });

  it('answers with what there is when the time is up', async () => {
    const id = objectId();
    await store.create(id, ticket('early'));
    expect(await store.waitFor(id, (head) => head?.title === 'never', { timeoutMs: 200 })).toMatchObject({
      title: 'early',
    });
    expect(await store.waitFor(objectId(), undefined, { timeoutMs: 100 })).toBeNull();
  });
});
