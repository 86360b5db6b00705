import { type MongoHandle, objectId, startMongo } from '@ticketing/testing';
import mongoose, { type Connection } from 'mongoose';
import { createLogger } from '../logging';
import { AggregateStore, type Versioned } from '../store/aggregate-store';
import { sleep } from '../test-support/fixtures';
import { DUE_SLOT_MS, DueScheduler, dueSlotOf } from './due-scheduler';

interface Reminder {
  dueAt: Date;
  dueSlot: number;
  status: 'scheduled' | 'sent';
}

let mongo: MongoHandle;
let connection: Connection;
const logger = createLogger({ service: 'test', level: 'silent' });
const schedulers = new Set<DueScheduler<Reminder>>();

beforeAll(async () => {
  mongo = await startMongo();
  connection = await mongoose.createConnection(mongo.url).asPromise();
});

afterAll(async () => {
  await Promise.all([...schedulers].map((scheduler) => scheduler.stop()));
  await connection?.close();
  await mongo?.stop();
});

/** A store of reminders and a scheduler that sends each once (a decide claims the sending), counting who sent. */
async function reminders(name: string, pollMs: number) {
  const store = new AggregateStore<Reminder>(connection.db!, name, { indexes: [{ status: 1, dueSlot: 1 }] });
  await store.init();
  const sentBy: string[] = [];
  const scheduler = (who: string) => {
    const instance = new DueScheduler<Reminder>({
      store,
      waiting: { status: 'scheduled' },
      dueAt: (job) => job.dueAt.getTime(),
      fire: async (job) => {
        const { changed } = await store.decide(job._id, (current) =>
          current?.status === 'scheduled' ? { state: { ...current, status: 'sent' } } : undefined,
        );
        if (changed) sentBy.push(who);
      },
      pollMs,
      logger,
      name: 'reminders',
    });
    schedulers.add(instance);
    return instance;
  };
  const add = (dueAt: Date): Promise<Versioned<Reminder>> =>
    store.create(objectId(), { dueAt, dueSlot: dueSlotOf(dueAt), status: 'scheduled' });
  return { store, sentBy, scheduler, add };
}

it('puts a due time in its 10-second slot', () => {
  expect(dueSlotOf(0)).toBe(0);
  expect(dueSlotOf(DUE_SLOT_MS - 1)).toBe(0);
  expect(dueSlotOf(new Date(DUE_SLOT_MS * 7 + 5))).toBe(7);
});

it('fires a job scheduled here on a timer at its time, long before the next poll', async () => {
  const { store, sentBy, scheduler, add } = await reminders('timed', 60_000);
  const instance = scheduler('a');
  instance.start();
  const dueAt = new Date(Date.now() + 1200);
  const job = await add(dueAt);
  instance.scheduled(job);
  await sleep(600);
  expect((await store.get(job._id))!.status).toBe('scheduled');
  const deadline = Date.now() + 10_000;
  while ((await store.get(job._id))!.status !== 'sent' && Date.now() < deadline) await sleep(50);
  expect((await store.get(job._id))!.status).toBe('sent');
  expect(Date.now()).toBeGreaterThanOrEqual(dueAt.getTime());
  expect(sentBy).toEqual(['a']);
  await instance.stop();
});

it('fires at start what came due while no scheduler ran, and each job once when two replicas share them', async () => {
  const { store, sentBy, scheduler, add } = await reminders('shared', 25);
  const past = await Promise.all(Array.from({ length: 5 }, () => add(new Date(Date.now() - 60_000))));
  const [a, b] = [scheduler('a'), scheduler('b')];
  a.start();
  b.start();
  // Scheduled by neither instance: found by the polls of the current slot.
  const soon = await Promise.all(Array.from({ length: 5 }, (_, i) => add(new Date(Date.now() + 100 * i))));
  const ids = [...past, ...soon].map((job) => job._id);
  const deadline = Date.now() + 15_000;
  const sent = async () => (await store.find({ _id: { $in: ids }, status: 'sent' })).length;
  while ((await sent()) < ids.length && Date.now() < deadline) await sleep(50);
  expect(await sent()).toBe(ids.length);
  await sleep(300);
  expect(sentBy).toHaveLength(ids.length);
  await Promise.all([a.stop(), b.stop()]);
});

it('keeps going when firing one job fails: the next pass tries it again', async () => {
  const store = new AggregateStore<Reminder>(connection.db!, 'flaky', {
    indexes: [{ status: 1, dueSlot: 1 }],
  });
  await store.init();
  let failures = 1;
  const fired: string[] = [];
  const instance = new DueScheduler<Reminder>({
    store,
    waiting: { status: 'scheduled' },
    dueAt: (job) => job.dueAt.getTime(),
    fire: async (job) => {
      if (failures-- > 0) throw new Error('not now');
      fired.push(job._id);
      await store.decide(job._id, (current) => ({ state: { ...current!, status: 'sent' } }));
    },
    pollMs: 50,
    logger,
    name: 'flaky',
  });
  schedulers.add(instance);
  const job = await store.create(objectId(), {
    dueAt: new Date(Date.now() - 1000),
    dueSlot: dueSlotOf(Date.now()),
    status: 'scheduled',
  });
  instance.start();
  const deadline = Date.now() + 10_000;
  while (fired.length === 0 && Date.now() < deadline) await sleep(50);
  expect(fired).toEqual([job._id]);
  await instance.stop();
});
