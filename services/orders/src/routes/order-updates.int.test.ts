import {
  type EventStreamReader,
  type HttpServerHandle,
  listenHttp,
  openEventStream,
  type SignedTestUser,
  signTestUser,
} from '@ticketing/testing';
import request from 'supertest';
import { type OrdersHarness, startOrdersHarness } from '../test-support/harness';

let h: OrdersHarness;
let http: HttpServerHandle;
const open: EventStreamReader[] = [];

beforeAll(async () => {
  h = await startOrdersHarness({ ORDER_EXPIRATION_SECONDS: '60' });
  http = await listenHttp(h.running.app);
});

afterEach(() => {
  for (const reader of open.splice(0)) reader.close();
});

afterAll(async () => {
  await http?.close();
  await h?.stop();
});

async function updates(user: SignedTestUser, headers: Record<string, string> = {}) {
  const reader = await openEventStream(`${http.url}/api/orders/updates`, {
    headers: { cookie: user.cookie, ...headers },
  });
  open.push(reader);
  await reader.waitFor((r) => r.retryMs !== undefined || r.ended);
  return reader;
}

async function placeOrder(user: SignedTestUser): Promise<string> {
  const ticket = await h.seedTicket();
  const res = await request(h.running.app)
    .post('/api/orders')
    .set('Cookie', user.cookie)
    .send({ ticketId: ticket.id });
  if (res.status !== 201) throw new Error(`order: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

async function cancel(user: SignedTestUser, orderId: string): Promise<void> {
  const res = await request(h.running.app).delete(`/api/orders/${orderId}`).set('Cookie', user.cookie);
  expect(res.status).toBe(204);
}

const subjects = (reader: EventStreamReader) => reader.events.map((e) => [e.event, JSON.parse(e.data).id]);

it('answers 401 to a caller who is not signed in', async () => {
  const res = await request(h.running.app).get('/api/orders/updates');
  expect(res.status).toBe(401);
  expect(res.body.errors).toHaveLength(1);
});

it("streams the signed-in user's orders only: created, then cancelled (which carries no user id)", async () => {
  const [ada, bob] = [signTestUser(), signTestUser()];
  const [adaStream, bobStream] = [await updates(ada), await updates(bob)];
  const adaOrder = await placeOrder(ada);
  await adaStream.waitFor((r) => r.events.length === 1);
  await cancel(ada, adaOrder);
  await adaStream.waitFor((r) => r.events.length === 2);
  const bobOrder = await placeOrder(bob);
  await bobStream.waitFor((r) => r.events.length === 1);
  expect(subjects(adaStream)).toEqual([
    ['order.created', adaOrder],
    ['order.cancelled', adaOrder],
  ]);
  expect(JSON.parse(adaStream.events[0]!.data)).toMatchObject({ userId: ada.user.id, status: 'created' });
  expect(subjects(bobStream)).toEqual([['order.created', bobOrder]]);
});

it('knows the orders a user had open before connecting', async () => {
  const ada = signTestUser();
  const earlier = await placeOrder(ada);
  await h.outboxesDrained();
  // Connected after its order.created (resuming at the stream's end): only the database says the order is hers.
  const end = (await h.running.context.bus.jsm.streams.info('ORDERS')).state.last_seq;
  const stream = await updates(ada, { 'Last-Event-ID': String(end) });
  await cancel(ada, earlier);
  await stream.waitFor((r) => r.events.length === 1);
  expect(subjects(stream)).toEqual([['order.cancelled', earlier]]);
});

it('resumes after Last-Event-ID, learning ids from the events it replays', async () => {
  const ada = signTestUser();
  const first = await updates(ada);
  const seenOrder = await placeOrder(ada);
  await first.waitFor((r) => r.events.length === 1);
  const lastId = first.events[0]!.id;
  first.close();
  // While away: a new order, then its cancellation (the id is known only from the replayed order.created).
  const missed = await placeOrder(ada);
  await cancel(ada, missed);
  await h.outboxesDrained();
  const resumed = await updates(ada, { 'Last-Event-ID': lastId });
  await resumed.waitFor((r) => r.events.length === 2);
  expect(subjects(resumed)).toEqual([
    ['order.created', missed],
    ['order.cancelled', missed],
  ]);
  expect(subjects(resumed)).not.toContainEqual(['order.created', seenOrder]);
});
