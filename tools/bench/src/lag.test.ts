import { type MongoHandle, startMongo } from '@ticketing/testing';
import { type Db, MongoClient } from 'mongodb';
import {
  type ChangeTime,
  completionTimes,
  measureEventLag,
  pairLags,
  publishingChanges,
  versionTimes,
} from './lag';

const at = (ms: number) => new Date(Date.UTC(2025, 0, 1) + ms);

describe('pairing changes', () => {
  it('pairs owner and replica changes by id and version and subtracts their times', () => {
    const owner: ChangeTime[] = [
      { _id: 't1:0', at: at(0) },
      { _id: 't1:1', at: at(100) },
      { _id: 't2:0', at: at(50) },
    ];
    const replica: ChangeTime[] = [
      { _id: 't2:0', at: at(53) },
      { _id: 't1:0', at: at(4) },
      { _id: 'other:0', at: at(1) },
    ];
    expect(pairLags(owner, replica)).toEqual({ lags: [4, 3], missing: ['t1:1'] });
  });

  it('keeps only owner changes that publish an event of the consumed subjects', () => {
    const changes: ChangeTime[] = [
      { _id: 'a:0', at: at(0), events: [{ subject: 'ticket.created' }] },
      { _id: 'a:1', at: at(1), events: [] },
      { _id: 'a:2', at: at(2) },
      { _id: 'a:3', at: at(3), events: [{ subject: 'order.created' }, { subject: 'ticket.updated' }] },
      { _id: 'a:4', at: at(4), events: [{ subject: 'order.cancelled' }] },
    ];
    expect(publishingChanges(changes, 'ticket.').map((c) => c._id)).toEqual(['a:0', 'a:3']);
  });
});

describe('reading lag from change documents', () => {
  let mongo: MongoHandle;
  let client: MongoClient;
  let db: Db;

  beforeAll(async () => {
    mongo = await startMongo();
    client = await MongoClient.connect(mongo.url);
    db = client.db(mongo.dbName);
  });

  afterAll(async () => {
    await client?.close();
    await mongo?.stop();
  });

  it('waits for the replica, then reports lag of the published changes and what is missing', async () => {
    const owner = db.collection('tickets_changes');
    const replica = db.collection('replica_tickets_changes');
    const change = (id: string, version: number, ms: number, subject?: string) => ({
      _id: `${id}:${version}` as never,
      aggregateId: id,
      version,
      at: at(ms),
      events: subject ? [{ subject }] : [],
    });
    await owner.insertMany([
      change('t1', 0, 0, 'ticket.created'),
      change('t1', 1, 100, 'ticket.updated'),
      change('t1', 2, 200), // no event: nothing for a replica to apply
      change('t2', 0, 10, 'ticket.created'),
      change('t3', 0, 20, 'ticket.created'), // not asked about
    ]);
    await replica.insertMany([change('t1', 0, 5), change('t3', 0, 21)]);
    // t1:1 arrives while the bench waits; t2:0 never does.
    setTimeout(() => void replica.insertOne(change('t1', 1, 107)), 300);

    const lag = await measureEventLag({
      name: 'tickets → orders',
      owner,
      replica,
      aggregateIds: ['t1', 't2'],
      subjectPrefix: 'ticket.',
      waitMs: 1500,
    });
    expect(lag).toEqual({
      name: 'tickets → orders',
      pairs: 2,
      missing: 1,
      lag: { count: 2, min: 5, mean: 6, p50: 6, p95: expect.any(Number), p99: expect.any(Number), max: 7 },
    });
  });

  it('finds when each order was written `complete`', async () => {
    const orders = db.collection('orders_changes');
    await orders.insertMany([
      { _id: 'o1:0' as never, aggregateId: 'o1', version: 0, at: at(0), state: { status: 'created' } },
      { _id: 'o1:1' as never, aggregateId: 'o1', version: 1, at: at(40), state: { status: 'complete' } },
      { _id: 'o2:0' as never, aggregateId: 'o2', version: 0, at: at(5), state: { status: 'created' } },
      { _id: 'o3:1' as never, aggregateId: 'o3', version: 1, at: at(9), state: { status: 'complete' } },
    ]);
    const times = await completionTimes(orders, ['o1', 'o2']);
    expect([...times.entries()]).toEqual([['o1', at(40).getTime()]]);
  });

  it('finds when a replica applied each aggregate’s version 0', async () => {
    const replica = db.collection('payments_orders_changes');
    await replica.insertMany([
      { _id: 'o1:0' as never, aggregateId: 'o1', version: 0, at: at(12) },
      { _id: 'o1:1' as never, aggregateId: 'o1', version: 1, at: at(30) },
      { _id: 'o:2:0' as never, aggregateId: 'o:2', version: 0, at: at(15) },
    ]);
    const times = await versionTimes(replica, ['o1', 'o:2', 'o3']);
    expect(Object.fromEntries(times)).toEqual({ o1: at(12).getTime(), 'o:2': at(15).getTime() });
  });
});
