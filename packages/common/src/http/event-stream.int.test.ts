import {
  type EventStreamReader,
  type HttpServerHandle,
  listenHttp,
  type NatsServerHandle,
  objectId,
  openEventStream,
  startNats,
} from '@ticketing/testing';
import pino from 'pino';
import { type Bus, connectBus } from '../bus/bus';
import { ticketCreated } from '../test-support/fixtures';
import { EventStreamHub, type StreamedEvent } from './event-stream';
import { testApp } from './test-support/app';

// A real nats-server of our own (restarted in one test), a real HTTP server, and fetch reading the stream.
const logger = pino({ level: 'silent' });
let nats: NatsServerHandle;
let bus: Bus;
let hub: EventStreamHub;
let http: HttpServerHandle;
const open: EventStreamReader[] = [];

/** Only the tickets of one seller: a stateless selector. */
const sellerOf = (userId: string) => (event: StreamedEvent) => event.data.userId === userId;

beforeAll(async () => {
  nats = await startNats({ own: true });
  bus = await connectBus({ servers: nats.url, name: 'event-stream-test', logger });
  await bus.ensureStreams();
  await bus.publish('ticket.created', ticketCreated()); // history the hub must not send to a fresh client
  hub = new EventStreamHub({
    bus,
    stream: 'TICKETS',
    consumerPrefix: 'test_updates',
    logger,
    heartbeatMs: 300,
    restartDelayMs: 200,
  });
  await hub.start();
  const app = testApp((express) => {
    express.get('/updates', (req, res, next) => {
      const seller = typeof req.query.seller === 'string' ? req.query.seller : undefined;
      hub.serve(req, res, seller ? { select: () => sellerOf(seller) } : {}).catch(next);
    });
    express.get('/broken', (req, res, next) => {
      hub
        .serve(req, res, {
          select: () => {
            throw new Error('database down');
          },
        })
        .catch(next);
    });
  });
  http = await listenHttp(app);
});

afterEach(() => {
  for (const reader of open.splice(0)) reader.close();
});

afterAll(async () => {
  await hub?.stop();
  await http?.close();
  await bus?.close();
  await nats?.close();
});

async function connect(path = '/updates', headers: Record<string, string> = {}): Promise<EventStreamReader> {
  const reader = await openEventStream(`${http.url}${path}`, { headers });
  open.push(reader);
  return reader;
}

/** Publishes a ticket.created and returns its payload and stream sequence. */
async function publishTicket(overrides: { userId?: string; title?: string } = {}) {
  const data = ticketCreated(overrides);
  const ack = await bus.publish('ticket.created', data);
  return { data, seq: ack.seq };
}

it('streams live events as text/event-stream: id = stream sequence, event = subject, data = the payload', async () => {
  const reader = await connect();
  expect(reader.status).toBe(200);
  expect(reader.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  expect(reader.headers.get('cache-control')).toBe('no-cache, no-transform');
  expect(reader.headers.get('x-accel-buffering')).toBe('no');
  await reader.waitFor((r) => r.retryMs !== undefined);
  const published = await publishTicket({ title: 'Live one' });
  await reader.waitFor((r) => r.events.length === 1);
  expect(reader.events).toEqual([
    { id: String(published.seq), event: 'ticket.created', data: JSON.stringify(published.data) },
  ]);
  expect(JSON.parse(reader.events[0]!.data)).toMatchObject({ id: published.data.id, title: 'Live one' });
});

it('sends the same event to every open connection once, in stream order', async () => {
  const [first, second] = [await connect(), await connect()];
  await Promise.all([first, second].map((r) => r.waitFor((x) => x.retryMs !== undefined)));
  const seqs: number[] = [];
  for (let i = 0; i < 5; i++) seqs.push((await publishTicket()).seq);
  for (const reader of [first, second]) {
    await reader.waitFor((r) => r.events.length === 5);
    expect(reader.events.map((e) => Number(e.id))).toEqual(seqs);
  }
});

it('resumes after Last-Event-ID: what was missed from the stream, then live events, nothing twice', async () => {
  const before = await publishTicket();
  const missed = [await publishTicket(), await publishTicket()];
  const reader = await connect('/updates', { 'Last-Event-ID': String(before.seq) });
  await reader.waitFor((r) => r.events.length === 2);
  const live = await publishTicket();
  await reader.waitFor((r) => r.events.length === 3);
  expect(reader.events.map((e) => Number(e.id))).toEqual([missed[0]!.seq, missed[1]!.seq, live.seq]);
  expect(reader.events.map((e) => JSON.parse(e.data).id)).toEqual([
    missed[0]!.data.id,
    missed[1]!.data.id,
    live.data.id,
  ]);
});

it('resumes with ?lastEventId= too, and sends nothing old for an id at the end of the stream', async () => {
  const last = await publishTicket();
  const caughtUp = await connect(`/updates?lastEventId=${last.seq}`);
  const from = await connect(`/updates?lastEventId=${last.seq - 1}`);
  await from.waitFor((r) => r.events.length === 1);
  expect(from.events[0]!.id).toBe(String(last.seq));
  const live = await publishTicket();
  await caughtUp.waitFor((r) => r.events.length === 1);
  expect(caughtUp.events.map((e) => Number(e.id))).toEqual([live.seq]);
});

it('filters per connection with its selector', async () => {
  const seller = objectId();
  const mine = await connect(`/updates?seller=${seller}`);
  const everyone = await connect();
  await Promise.all([mine, everyone].map((r) => r.waitFor((x) => x.retryMs !== undefined)));
  await publishTicket();
  const own = await publishTicket({ userId: seller });
  await publishTicket();
  await everyone.waitFor((r) => r.events.length === 3);
  await mine.waitFor((r) => r.events.length === 1);
  expect(mine.events.map((e) => Number(e.id))).toEqual([own.seq]);
});

it('keeps a quiet stream open with comment lines', async () => {
  const reader = await connect();
  await reader.waitFor((r) => r.comments.filter((c) => c === 'keep-alive').length >= 2, 5000);
  expect(reader.events).toEqual([]);
});

it('skips messages that are not valid catalog events and goes on', async () => {
  const reader = await connect();
  await reader.waitFor((r) => r.retryMs !== undefined);
  await bus.js.publish('ticket.created', '{"id": not json');
  await bus.js.publish('ticket.updated', JSON.stringify({ id: 'x' }));
  const good = await publishTicket();
  await reader.waitFor((r) => r.events.length === 1);
  expect(reader.events[0]!.id).toBe(String(good.seq));
});

it('answers 400 naming Last-Event-ID when it is not a sequence, before any event', async () => {
  const reader = await connect('/updates', { 'Last-Event-ID': 'abc' });
  expect(reader.status).toBe(400);
  expect(JSON.parse(await reader.text())).toEqual({
    errors: [{ message: expect.stringMatching(/Last-Event-ID/), field: 'Last-Event-ID' }],
  });
});

it('fails the request with the error of its selector, and holds no connection for it', async () => {
  const before = hub.size;
  const reader = await connect('/broken');
  expect(reader.status).toBe(500);
  expect(JSON.parse(await reader.text())).toEqual({ errors: [{ message: 'Something went wrong' }] });
  expect(hub.size).toBe(before);
});

it('forgets a connection when the client goes away', async () => {
  const reader = await connect();
  await reader.waitFor((r) => r.retryMs !== undefined);
  const withIt = hub.size;
  reader.close();
  const deadline = Date.now() + 5000;
  while (hub.size >= withIt && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(hub.size).toBe(withIt - 1);
});

it('keeps streaming across a nats-server restart', async () => {
  const reader = await connect();
  await reader.waitFor((r) => r.retryMs !== undefined);
  const first = await publishTicket();
  await reader.waitFor((r) => r.events.length === 1);
  await nats.restart();
  // The bus reconnects on its own; publish until JetStream takes the event again.
  let after: { seq: number } | undefined;
  const deadline = Date.now() + 20_000;
  while (!after && Date.now() < deadline) {
    after = await publishTicket().catch(() => undefined);
    if (!after) await new Promise((r) => setTimeout(r, 200));
  }
  await reader.waitFor((r) => r.events.some((e) => Number(e.id) === after!.seq), 20_000);
  expect(Number(reader.events[0]!.id)).toBe(first.seq);
  const ids = reader.events.map((e) => Number(e.id));
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(new Set(ids).size).toBe(ids.length);
}, 60_000);

it('ends every open stream when stopped', async () => {
  const reader = await connect();
  await reader.waitFor((r) => r.retryMs !== undefined);
  await hub.stop();
  await reader.waitFor((r) => r.ended, 5000);
  expect(hub.size).toBe(0);
  const late = await connect();
  expect(late.status).toBe(503);
});
