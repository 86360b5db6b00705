import {
  type EventStreamReader,
  type HttpServerHandle,
  listenHttp,
  openEventStream,
  signTestUser,
} from '@ticketing/testing';
import request from 'supertest';
import {
  createTicket,
  type Harness,
  orderCreated,
  publishOrderEvent,
  startHarness,
  stopHarness,
} from '../test-support/harness';

let harness: Harness;
let http: HttpServerHandle;
const open: EventStreamReader[] = [];

beforeAll(async () => {
  harness = await startHarness();
  http = await listenHttp(harness.running.app);
});

afterEach(() => {
  for (const reader of open.splice(0)) reader.close();
});

afterAll(async () => {
  await http?.close();
  await stopHarness(harness);
});

async function updates(headers: Record<string, string> = {}): Promise<EventStreamReader> {
  const reader = await openEventStream(`${http.url}/api/tickets/updates`, { headers });
  open.push(reader);
  await reader.waitFor((r) => r.retryMs !== undefined || r.ended);
  return reader;
}

const about = (ticketId: string) => (reader: EventStreamReader) =>
  reader.events.filter((e) => JSON.parse(e.data).id === ticketId);

it('streams a listed ticket and its reservation to anyone, signed in or not', async () => {
  const reader = await updates();
  expect(reader.status).toBe(200);
  expect(reader.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const ticketId = await createTicket(harness, signTestUser(), { title: 'Live jazz', price: '12.50' });
  await reader.waitFor((r) => about(ticketId)(r).length === 1);
  const [created] = about(ticketId)(reader);
  expect(created!.event).toBe('ticket.created');
  expect(Number(created!.id)).toBeGreaterThan(0);
  expect(JSON.parse(created!.data)).toMatchObject({
    id: ticketId,
    title: 'Live jazz',
    price: 12.5,
    version: 0,
  });

  const order = orderCreated(ticketId, undefined, 12.5);
  await publishOrderEvent(harness, 'order.created', order);
  await reader.waitFor((r) => about(ticketId)(r).length === 2, 15_000);
  const reserved = about(ticketId)(reader)[1]!;
  expect(reserved.event).toBe('ticket.updated');
  expect(JSON.parse(reserved.data)).toMatchObject({ id: ticketId, orderId: order.id, version: 1 });
});

it('resumes after Last-Event-ID with the changes it missed', async () => {
  const first = await updates();
  const ticketId = await createTicket(harness);
  await first.waitFor((r) => about(ticketId)(r).length === 1);
  const seen = about(ticketId)(first)[0]!.id;
  first.close();
  const owner = signTestUser();
  const other = await createTicket(harness, owner, { title: 'While away', price: 5 });
  const resumed = await updates({ 'Last-Event-ID': seen });
  await resumed.waitFor((r) => about(other)(r).length === 1);
  expect(resumed.events.map((e) => e.id)).not.toContain(seen);
  expect(JSON.parse(about(other)(resumed)[0]!.data)).toMatchObject({ title: 'While away' });
});

it('answers 400 naming Last-Event-ID for one that is not an event id', async () => {
  const res = await request(harness.running.app).get('/api/tickets/updates').set('Last-Event-ID', 'x1');
  expect(res.status).toBe(400);
  expect(res.body.errors[0].field).toBe('Last-Event-ID');
});
