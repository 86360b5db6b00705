import { Writable } from 'node:stream';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  objectId,
  readStream,
  startMongo,
  startNats,
} from '@ticketing/testing';
import mongoose, { type Connection } from 'mongoose';
import { Registry } from 'prom-client';
import request from 'supertest';
import { type Bus, connectBus } from './bus/bus';
import { Listener, on } from './bus/listener';
import { createHttpApp } from './http/app';
import { createLogger } from './logging';
import { OutboxRelay } from './outbox/relay';
import { AggregateStore } from './store/aggregate-store';
import { startTracing, type Tracing } from './tracing';

interface Ticket {
  title: string;
  price: number;
  userId: string;
}

const logger = createLogger({ service: 'tracing-test' });
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let nats: NatsServerHandle;
let mongo: MongoHandle;
let connection: Connection;
let bus: Bus;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  tracing = startTracing({ service: 'tracing-test', exporter });
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  connection = await mongoose.createConnection(mongo.url).asPromise();
  bus = await connectBus({ servers: nats.url, name: 'tracing-test', logger });
  await bus.ensureStreams();
});

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  exporter.reset();
  await bus.jsm.streams.purge('TICKETS');
});

afterAll(async () => {
  await bus?.close();
  await connection?.close();
  await mongo?.stop();
  await nats?.close();
  await tracing?.shutdown();
});

function relayOf(publisher: ConstructorParameters<typeof OutboxRelay>[0]['publisher'], staleAfterMs = 500) {
  const relay = new OutboxRelay({
    publisher,
    db: connection.db!,
    logger,
    heartbeatMs: 100,
    staleAfterMs,
    epochMs: 1000,
  });
  const store = new AggregateStore<Ticket>(connection.db!, 'tickets', {}, { outbox: relay });
  relay.register(store as AggregateStore<object>);
  return { relay, store };
}

/** A listener of `ticket.created` that remembers the active span of each call of its handler. */
async function listen(service: string) {
  const seen: Array<{ id: string; traceId: string; spanId: string }> = [];
  const listener = new Listener(
    on('ticket.created', (data) => {
      const context = trace.getActiveSpan()?.spanContext();
      seen.push({ id: data.id, traceId: context?.traceId ?? '', spanId: context?.spanId ?? '' });
    }),
    bus,
    { service, logger },
  );
  await listener.start();
  stops.push(() => listener.stop());
  return seen;
}

/** Writes a ticket with its `ticket.created` inside a span standing for the request that caused it. */
async function writeTicketInSpan(store: AggregateStore<Ticket>) {
  const id = objectId();
  const state = { title: 'Show', price: 10, userId: objectId() };
  const cause = trace.getTracer('test').startSpan('POST /api/tickets', { kind: SpanKind.SERVER });
  await context.with(trace.setSpan(context.active(), cause), () =>
    store.create(id, state, [{ subject: 'ticket.created', data: { id, ...state } }]),
  );
  cause.end();
  return { id, cause: cause.spanContext() };
}

async function finishedSpans(): Promise<ReadableSpan[]> {
  await tracing.flush();
  return exporter.getFinishedSpans();
}

function spanNamed(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.find((span) => span.name === name);
  if (!found) throw new Error(`no span ${name} among ${spans.map((span) => span.name).join(', ')}`);
  return found;
}

it('a traceparent stored with an event in the outbox goes through the relay and NATS to the handler, one trace', async () => {
  const seen = await listen('traced');
  const { relay, store } = relayOf(bus);
  await relay.start();
  stops.push(() => relay.stop());

  const { id, cause } = await writeTicketInSpan(store);
  // Stored with the event, in the change document: what a recovering relay reads back.
  const change = await connection.db!.collection('tickets_changes').findOne({ aggregateId: id });
  expect(change?.events[0].traceparent).toMatch(new RegExp(`^00-${cause.traceId}-${cause.spanId}-01$`));

  await eventually(() => expect(seen.map((s) => s.id)).toEqual([id]));
  const [message] = await readStream({ servers: nats.url, stream: 'TICKETS' });
  const spans = await finishedSpans();
  const send = spanNamed(spans, 'send ticket.created');
  const process_ = spanNamed(spans, 'process ticket.created');
  // The header names the producer span, a child of the request's; the consumer span is the producer's child.
  expect(message!.headers.traceparent).toBe(`00-${cause.traceId}-${send.spanContext().spanId}-01`);
  expect(send.kind).toBe(SpanKind.PRODUCER);
  expect(send.parentSpanContext?.spanId).toBe(cause.spanId);
  expect(process_.kind).toBe(SpanKind.CONSUMER);
  expect(process_.spanContext().traceId).toBe(cause.traceId);
  expect(process_.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
  expect(process_.attributes).toMatchObject({
    'messaging.system': 'nats',
    'messaging.destination.name': 'ticket.created',
    'messaging.consumer.group.name': 'traced-ticket-created',
    'ticketing.outcome': 'acked',
  });
  // The handler ran inside the consumer span.
  expect(seen[0]).toMatchObject({ traceId: cause.traceId, spanId: process_.spanContext().spanId });
});

it('the traceparent is read back from the event document when another relay publishes a dead relay’s events', async () => {
  const seen = await listen('recovered');
  // Its publishes never complete: the process dies first, leaving the change written and unpublished.
  const dying = relayOf({ publishEvent: () => new Promise(() => undefined) });
  await dying.relay.start();
  const { id, cause } = await writeTicketInSpan(dying.store);
  clearInterval((dying.relay as unknown as { timer: NodeJS.Timeout }).timer); // what a kill -9 leaves

  const survivor = relayOf(bus);
  await survivor.relay.start();
  stops.push(() => survivor.relay.stop());
  await eventually(() => expect(seen.map((s) => s.id)).toEqual([id]), { timeoutMs: 10_000 });
  expect(seen[0]!.traceId).toBe(cause.traceId);
  const [message] = await readStream({ servers: nats.url, stream: 'TICKETS' });
  expect(message!.headers.traceparent).toContain(cause.traceId);
});

it('an untraced message gets a consumer span of its own trace', async () => {
  const seen = await listen('untraced');
  const id = objectId();
  // Published outside any span: no traceparent header.
  await bus.publish('ticket.created', { id, version: 0, title: 'Show', price: 10, userId: objectId() });
  await eventually(() => expect(seen.map((s) => s.id)).toEqual([id]));
  // (The previous test's producer span may end after its test: pick this test's spans by the consumer.)
  const spans = await finishedSpans();
  const process_ = spans.find(
    (span) => span.attributes['messaging.consumer.group.name'] === 'untraced-ticket-created',
  );
  const send = spans.find((span) => span.spanContext().spanId === process_?.parentSpanContext?.spanId);
  expect(send?.name).toBe('send ticket.created');
  expect(send?.parentSpanContext).toBeUndefined();
  expect(process_!.spanContext().traceId).toBe(send!.spanContext().traceId);
  expect(seen[0]!.traceId).toBe(send!.spanContext().traceId);
});

it('serves each request in a server span named by its route, continuing the caller’s traceparent; log lines carry the trace id', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const app = createHttpApp({
    service: 'tracing-test',
    logger: createLogger({ service: 'tracing-test', level: 'info', destination: sink }),
    metrics: new Registry(),
    jwtKey: 'tracing-test-key',
    cookieSecure: false,
    readiness: {},
    routes: (express) => {
      express.get('/things/:id', (req, res) => {
        res.json({ id: req.params.id });
      });
    },
  });
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const answer = await request(app)
    .get('/things/42')
    .set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`)
    .expect(200);
  expect(answer.headers.traceresponse).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  const spans = await finishedSpans();
  const server = spanNamed(spans, 'GET /things/:id');
  expect(server.kind).toBe(SpanKind.SERVER);
  expect(server.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  expect(server.attributes).toMatchObject({ 'http.route': '/things/:id', 'http.response.status_code': 200 });
  expect(answer.headers.traceresponse).toContain(server.spanContext().spanId);
  const completed = lines.find((line) => line.msg === 'request completed');
  expect(completed).toMatchObject({ traceId, spanId: server.spanContext().spanId });
});
