import { startService } from '@ticketing/common';
import { ordersService } from '@ticketing/orders/app';
import { eventually, mongoUrlWithDatabase, readStream } from '@ticketing/testing';
import {
  ApiClient,
  listTicket,
  orderTicket,
  payOrder,
  runReplay,
  startTestStack,
  type TestStack,
  waitForOrderStatus,
} from './support';

let test: TestStack;

beforeAll(async () => {
  test = await startTestStack({ API_VALIDATE_RESPONSES: 'true' });
}, 180_000);

afterAll(async () => {
  await test?.stop();
});

function replay(...args: string[]) {
  return runReplay(test, args);
}

/** The heads of orders' ticket replica, by id (the mongo driver's view, `__v` aside). */
async function ticketReplica(): Promise<Record<string, unknown>> {
  const heads = await test.db('orders').collection('tickets').find({}).sort({ _id: 1 }).toArray();
  return Object.fromEntries(heads.map(({ __v, ...head }) => [String(head._id), head]));
}

async function purchase(seller: ApiClient, buyer: ApiClient, price: number): Promise<string> {
  const ticket = await listTicket(seller, price, `Replay ${price}`);
  const order = await orderTicket(buyer, ticket.id);
  expect((await payOrder(buyer, order.id)).status).toBe(201);
  await waitForOrderStatus(buyer, order.id, 'complete');
  return ticket.id;
}

it('rebuilds orders’ ticket replica from the TICKETS stream: --check finds nothing, --apply restores a deleted replica', async () => {
  const seller = await new ApiClient(test.stack.url).signup();
  const buyers = await Promise.all([1, 2, 3].map(() => new ApiClient(test.stack.url).signup()));
  // A burst: three buyers at once, four purchases each, plus a ticket edited twice and left on sale.
  await Promise.all(
    buyers.map(async (buyer, b) => {
      for (let i = 0; i < 4; i++) await purchase(seller, buyer, 10 + b * 10 + i);
    }),
  );
  const edited = await listTicket(seller, 5, 'Edited');
  for (const price of [6, 7]) {
    const res = await seller.request('PUT', `/api/tickets/${edited.id}`, { title: 'Edited', price });
    expect(res.status).toBe(200);
  }
  // Every ticket event reached orders (the replica is at each ticket's last version).
  const tickets = test.db('tickets').collection('tickets');
  await eventually(async () => {
    const versions = await tickets.find({}, { projection: { version: 1 } }).toArray();
    const replica = await ticketReplica();
    expect(versions).toHaveLength(13);
    for (const { _id, version } of versions)
      expect((replica[String(_id)] as { version?: number } | undefined)?.version).toBe(version);
  });
  const before = await ticketReplica();

  const untouched = await replay('orders', '--check');
  expect(untouched.stderr).toBe('');
  expect(untouched.stdout).toMatch(/tickets: live 13, rebuilt 13, identical/);
  expect(untouched.stdout).toMatch(/no difference/);
  expect(untouched.code).toBe(0);
  expect((await replay('payments', '--check')).code).toBe(0);

  await test.db('orders').collection('tickets').deleteMany({});
  await test.db('orders').collection('tickets_changes').deleteMany({});
  const missing = await replay('orders');
  expect(missing.stdout).toMatch(/tickets: live 0, rebuilt 13, 13 differ/);
  expect(missing.code).toBe(1);

  const applied = await replay('orders', '--apply');
  expect(applied.stdout).toMatch(/replaced the live one/);
  expect(applied.code).toBe(0);
  expect(await ticketReplica()).toEqual(before);
  expect((await replay('orders', '--check')).code).toBe(0);

  // From a later start, only the tickets whose whole history follows it are compared and replaced.
  const stream = await readStream({ servers: test.stack.natsUrl, stream: 'TICKETS' });
  const editedSince = stream.find(
    (message) => message.subject === 'ticket.created' && (message.data as { id: string }).id === edited.id,
  )!.seq;
  await test
    .db('orders')
    .collection('tickets')
    .deleteOne({ _id: edited.id as never });
  const partial = await replay('orders', '--from-seq', String(editedSince));
  expect(partial.stdout).toMatch(/tickets: live 0, rebuilt 1, 1 differ/);
  expect(partial.code).toBe(1);
  expect((await replay('orders', '--from-seq', String(editedSince), '--apply')).code).toBe(0);
  expect(await ticketReplica()).toEqual(before);
  // One message later, that ticket's history starts before the replay: it is left out, not found missing.
  const later = await replay('orders', '--from-seq', String(editedSince + 1));
  expect(later.stdout).toMatch(/; 0 skipped, 1 aggregates with history before the start left out/);
  expect(later.stdout).toMatch(/tickets: live 0, rebuilt 0, identical/);
  expect(later.code).toBe(0);
  expect((await replay('orders', '--since', new Date().toISOString())).stdout).toMatch(/0 messages replayed/);

  // The durables resumed: a new ticket reaches the rebuilt replica, and buying it works.
  const buyer = await new ApiClient(test.stack.url).signup();
  await purchase(seller, buyer, 99);
  expect(Object.keys(await ticketReplica())).toHaveLength(14);
}, 600_000);

it('a service that joins late (a fresh database, new durables delivering everything) converges to the same replica', async () => {
  const seller = await new ApiClient(test.stack.url).signup();
  const buyer = await new ApiClient(test.stack.url).signup();
  await purchase(seller, buyer, 55);
  const database = `${test.stack.databases.orders}-late`;
  const late = await startService(
    // Its own name: its own durables, which start at the first message of each stream.
    { ...ordersService, name: 'orders-late' },
    {
      env: {
        ...process.env,
        JWT_KEY: 'late-joiner-signs-nothing',
        MONGO_URL: mongoUrlWithDatabase(test.stack.mongoUrl, database),
        NATS_URL: test.stack.natsUrl,
        LOG_LEVEL: 'warn',
      },
      listen: false,
    },
  );
  try {
    const lateTickets = late.context.connection.db!.collection('tickets');
    await eventually(
      async () => {
        const heads = await lateTickets.find({}).sort({ _id: 1 }).toArray();
        const replica = Object.fromEntries(heads.map(({ __v, ...head }) => [String(head._id), head]));
        expect(replica).toEqual(await ticketReplica());
      },
      { timeoutMs: 60_000 },
    );
    const info = await late.context.bus.jsm.consumers.info('TICKETS', 'orders-late-ticket-created');
    expect(info.config.deliver_policy).toBe('all');
  } finally {
    await late.context.connection.db!.dropDatabase();
    await late.stop();
  }
}, 300_000);
