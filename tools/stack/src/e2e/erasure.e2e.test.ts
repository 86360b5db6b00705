import { pseudonymOf, streamNames } from '@ticketing/common';
import { eventually, readStream } from '@ticketing/testing';
import { serviceNames } from '../stack';
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

const JWT_KEY = 'erasure-e2e-jwt-key';
let test: TestStack;

beforeAll(async () => {
  test = await startTestStack({ API_VALIDATE_RESPONSES: 'true', JWT_KEY });
}, 180_000);

afterAll(async () => {
  await test?.stop();
});

/** Every document of every service's database, as one JSON text per `<service>/<collection>`. */
async function everyDatabase(): Promise<Record<string, string>> {
  const texts: Record<string, string> = {};
  for (const service of serviceNames) {
    const db = test.db(service);
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      texts[`${service}/${name}`] = JSON.stringify(await db.collection(name).find({}).toArray());
    }
  }
  return texts;
}

/** Every message of every stream, payload and headers. */
async function everyStream(): Promise<Record<string, string>> {
  const texts: Record<string, string> = {};
  for (const stream of streamNames) {
    const messages = await readStream({ servers: test.stack.natsUrl, stream });
    texts[stream] = JSON.stringify(messages.map(({ raw, headers }) => ({ raw, headers })));
  }
  return texts;
}

function holding(texts: Record<string, string>, value: string): string[] {
  return Object.entries(texts)
    .filter(([, text]) => text.includes(value))
    .map(([where]) => where);
}

it('erases a buyer and a seller: no database keeps their emails or ids (but the erasure record), no stream their emails; the money facts stay under pseudonyms', async () => {
  const seller = await new ApiClient(test.stack.url).signup();
  const buyer = await new ApiClient(test.stack.url).signup();
  const sold = await listTicket(seller, 30, 'Erasure sold');
  const order = await orderTicket(buyer, sold.id);
  expect((await payOrder(buyer, order.id)).status).toBe(201);
  await waitForOrderStatus(buyer, order.id, 'complete');
  // A cancelled order leaves the buyer's id as a key of the ticket's reorder cooldowns.
  const released = await listTicket(seller, 12, 'Erasure released');
  const cancelled = await orderTicket(buyer, released.id);
  expect((await buyer.request('DELETE', `/api/orders/${cancelled.id}`)).status).toBe(204);
  await waitForOrderStatus(buyer, cancelled.id, 'cancelled');
  // Before: the services do hold the ids (so that finding none afterwards means something).
  await eventually(async () => {
    const before = await everyDatabase();
    for (const where of ['orders/orders', 'orders/reservations', 'payments/orders', 'payments/payments'])
      expect(holding(before, buyer.id)).toContain(where);
    for (const where of ['tickets/tickets', 'orders/tickets'])
      expect(holding(before, seller.id)).toContain(where);
  });

  for (const user of [buyer, seller]) {
    const res = await user.request('DELETE', '/api/users/me');
    expect(res.status).toBe(204);
    const me = await user.request<{ currentUser: unknown }>('GET', '/api/users/currentuser');
    expect(me.body).toEqual({ currentUser: null });
  }

  await eventually(
    async () => {
      const databases = await everyDatabase();
      // Only the record that the erasure happened names the id (as does user.deleted on the USERS stream).
      const erasureRecord = ['auth/erasures', 'auth/erasures_changes'];
      expect(holding(databases, buyer.id)).toEqual(erasureRecord);
      expect(holding(databases, seller.id)).toEqual(erasureRecord);
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  const databases = await everyDatabase();
  const streams = await everyStream();
  for (const { email } of [buyer, seller]) {
    expect(holding(databases, email)).toEqual([]);
    expect(holding(streams, email)).toEqual([]);
  }
  // The streams say that they were erased, by id.
  expect(streams.USERS).toContain(buyer.id);
  expect(streams.USERS).toContain(seller.id);

  const buyerPseudonym = pseudonymOf(buyer.id, JWT_KEY);
  const sellerPseudonym = pseudonymOf(seller.id, JWT_KEY);
  const paidOrder = await test
    .db('orders')
    .collection('orders')
    .findOne({ _id: order.id as never });
  expect(paidOrder).toMatchObject({ userId: buyerPseudonym, status: 'complete' });
  const payment = await test.db('payments').collection('payments').findOne({ orderId: order.id });
  expect(payment).toMatchObject({ userId: buyerPseudonym, amountCents: 3000, status: 'paid' });
  const ticket = await test
    .db('tickets')
    .collection('tickets')
    .findOne({ _id: sold.id as never });
  expect(ticket).toMatchObject({ userId: sellerPseudonym, orderId: order.id, sold: true });
  expect(
    await test
      .db('orders')
      .collection('buyers')
      .findOne({ _id: buyer.id as never }),
  ).toBeNull();

  // Replicas rebuilt from the streams are erased like the live ones (user.deleted is replayed after them).
  for (const service of ['orders', 'payments']) {
    const check = await runReplay(test, [service, '--check'], { JWT_KEY });
    expect(check.stdout).toMatch(/no difference/);
    expect(check.code).toBe(0);
  }

  // The shop goes on: another seller's ticket is listed and bought.
  const nextSeller = await new ApiClient(test.stack.url).signup();
  const nextBuyer = await new ApiClient(test.stack.url).signup();
  const next = await listTicket(nextSeller, 8, 'After erasure');
  const nextOrder = await orderTicket(nextBuyer, next.id);
  expect((await payOrder(nextBuyer, nextOrder.id)).status).toBe(201);
  await waitForOrderStatus(nextBuyer, nextOrder.id, 'complete');
}, 300_000);
