// Every query the services and common send by a field other than `_id` is answered through an index, also at
// 10,000 documents: on FerretDB's PostgreSQL backend the filter is pushed down to SQL and PostgreSQL's plan
// scans an index (the GIN twins the stack creates), on MongoDB the winning plan is an IXSCAN.
import { type MongoHandle, startMongo } from '@ticketing/testing';
import type { Db, Document } from 'mongodb';
import mongoose, { type Connection } from 'mongoose';
import { AggregateStore } from './aggregate-store';

const DOCUMENTS = 10_000;

let mongo: MongoHandle;
let connection: Connection;
let db: Db;

beforeAll(async () => {
  mongo = await startMongo();
  connection = await mongoose.createConnection(mongo.url).asPromise();
  db = connection.db as unknown as Db;
}, 60_000);

afterAll(async () => {
  await connection?.close();
  await mongo?.stop();
});

/** A store with `indexes` on its heads, its changes indexed as the store and the relay index them. */
async function seededStore(
  name: string,
  indexes: Array<Record<string, 1 | -1>>,
  head: (n: number) => Document,
) {
  const store = new AggregateStore<object>(connection.db!, name, { indexes });
  await store.init();
  await store.changes.createIndex({ writer: 1 });
  const ids = Array.from({ length: DOCUMENTS }, (_, n) => `a${String(n).padStart(5, '0')}`);
  await store.heads.insertMany(ids.map((id, n) => ({ _id: id, version: 0, ...head(n) })) as never);
  await store.changes.insertMany(
    ids.map((id, n) => ({
      _id: `${id}:0`,
      aggregateId: id,
      version: 0,
      state: head(n),
      events: [],
      writer: `relay${n % 100}.${n % 7}`,
      at: new Date(),
    })),
  );
  return name;
}

/** The plan of `find(filter)` on the collection; whether it reads an index; how long the find took. */
async function plan(collection: string, filter: Document, sort?: Document) {
  const started = performance.now();
  const found = await db
    .collection(collection)
    .find(filter, sort ? { sort } : {})
    .toArray();
  const ms = performance.now() - started;
  const explained = await db.command({ explain: { find: collection, filter, ...(sort ? { sort } : {}) } });
  const text = JSON.stringify(explained.queryPlanner ?? explained);
  return {
    found: found.length,
    ms,
    indexed: /Index Scan|IXSCAN/.test(text),
    collectionScan: /COLLSCAN/.test(text),
  };
}

it(`answers each query shape through an index at ${DOCUMENTS} documents`, async () => {
  const orders = await seededStore('orders', [{ userId: 1 }, { status: 1 }], (n) => ({
    userId: `user${n % 500}`,
    status: n % 3 === 0 ? 'created' : 'complete',
  }));
  const payments = await seededStore('payments', [{ orderId: 1 }], (n) => ({ orderId: `order${n}` }));
  const expirations = await seededStore('expirations', [{ status: 1, dueSlot: 1 }], (n) => ({
    status: n % 50 === 0 ? 'waiting' : 'fired',
    dueSlot: 1_000_000 + (n % 1000),
  }));
  const deliveries = await seededStore(
    'deliveries',
    [{ endpointId: 1, status: 1, occurredAt: 1, sequence: 1 }],
    (n) => ({
      endpointId: `endpoint${n % 200}`,
      status: n % 7 ? 'delivered' : 'pending',
      occurredAt: new Date(n),
      sequence: n,
    }),
  );
  const shapes = {
    // orders: a buyer's unpaid orders (the live-order limit) and their page of orders
    'orders by buyer and status': await plan(orders, { userId: 'user7', status: 'created' }),
    'orders by buyer, paged': await plan(orders, { userId: 'user7', _id: { $gt: 'a00100' } }, { _id: 1 }),
    // payments: an order's payments
    'payments by order': await plan(payments, { orderId: 'order4242' }),
    // the due scheduler (expiration, order.expiring notices): the waiting jobs of one due slot
    'jobs by status and due slot': await plan(expirations, { status: 'waiting', dueSlot: 1_000_050 }),
    // notifications: an endpoint's oldest pending delivery
    'deliveries by endpoint and status': await plan(
      deliveries,
      { endpointId: 'endpoint3', status: 'pending' },
      { occurredAt: 1, sequence: 1 },
    ),
    // the store: an aggregate's history; the relay: a dead writer's epoch
    'changes by aggregate': await plan(`${orders}_changes`, { aggregateId: 'a04242' }),
    'changes by relay epoch': await plan(`${orders}_changes`, { writer: 'relay42.0' }),
  };
  console.log(
    Object.entries(shapes)
      .map(
        ([shape, p]) =>
          `${shape}: ${p.found} found in ${p.ms.toFixed(1)} ms, ${p.indexed ? 'index' : 'NO INDEX'}`,
      )
      .join('\n'),
  );
  for (const [shape, p] of Object.entries(shapes)) {
    expect({ shape, found: p.found > 0, indexed: p.indexed, collectionScan: p.collectionScan }).toEqual({
      shape,
      found: true,
      indexed: true,
      collectionScan: false,
    });
  }
}, 300_000);
