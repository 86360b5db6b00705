import { headers as natsHeaders } from '@nats-io/nats-core';
import { eventually, type NatsServerHandle, objectId, readStream, startNats } from '@ticketing/testing';
import type { EventData } from '../events/catalog';
import { OutOfOrderError } from '../events/errors';
import { versionVerdict } from '../events/versioning';
import { createLogger } from '../logging';
import { sleep, ticketCreated } from '../test-support/fixtures';
import { type Bus, connectBus } from './bus';
import { DeadLetterHeaders, EventHeaders } from './headers';
import { type EventMeta, Listener, type ListenerOptions, on } from './listener';

const logger = createLogger({ service: 'test' });
let nats: NatsServerHandle;
let bus: Bus;
let serviceCounter = 0;
const running: Listener<'ticket.created' | 'ticket.updated'>[] = [];

type Handler<S extends 'ticket.created' | 'ticket.updated'> = (
  data: EventData<S>,
  meta: EventMeta,
) => Promise<void>;

function options(service: string, overrides: Partial<ListenerOptions> = {}): ListenerOptions {
  return { service, logger, maxDeliver: 3, retryDelayMs: 50, maxRetryDelayMs: 200, ...overrides };
}

async function startListener<S extends 'ticket.created' | 'ticket.updated'>(
  subject: S,
  handler: Handler<S>,
  service: string,
  overrides: Partial<ListenerOptions> & { key?: (data: EventData<S>) => string } = {},
) {
  const { key, ...tuning } = overrides;
  const listener = new Listener(on(subject, handler, { key }), bus, options(service, tuning));
  await listener.start();
  running.push(listener as never);
  return listener;
}

function newService() {
  serviceCounter += 1;
  return `svc${serviceCounter}`;
}

beforeAll(async () => {
  nats = await startNats();
  bus = await connectBus({ servers: nats.url, name: 'listener-test', logger });
  await bus.ensureStreams();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((listener) => listener.stop()));
  for (const stream of ['TICKETS', 'DLQ']) await bus.jsm.streams.purge(stream);
});

afterAll(async () => {
  await bus?.close();
  await nats?.close();
});

async function consumerInfo(service: string, subject: string) {
  return bus.jsm.consumers.info('TICKETS', `${service}-${subject.replace('.', '-')}`);
}

it('creates a durable consumer named <service>-<subject>, acks on success, and passes the correlation id', async () => {
  const service = newService();
  const seen: Array<{ data: unknown; correlationId: string; deliveryCount: number }> = [];
  await startListener(
    'ticket.created',
    async (data, meta) => {
      seen.push({ data, correlationId: meta.correlationId, deliveryCount: meta.deliveryCount });
    },
    service,
  );
  const data = ticketCreated();
  const ack = await bus.publish('ticket.created', data, { correlationId: 'req-7' });
  await eventually(() => expect(seen).toHaveLength(1));
  expect(seen[0]).toEqual({ data, correlationId: 'req-7', deliveryCount: 1 });
  await eventually(async () => {
    const info = await consumerInfo(service, 'ticket.created');
    expect(info.config.durable_name).toBe(`${service}-ticket-created`);
    expect(info.config.ack_policy).toBe('explicit');
    expect(info.num_ack_pending).toBe(0);
    expect(info.ack_floor.stream_seq).toBe(ack.seq);
  });
});

it('redelivers after a handler error, then acks when it succeeds', async () => {
  const service = newService();
  const attempts: number[] = [];
  await startListener(
    'ticket.created',
    async (_data, meta) => {
      attempts.push(meta.deliveryCount);
      if (meta.deliveryCount === 1) throw new Error('database hiccup');
    },
    service,
  );
  await bus.publish('ticket.created', ticketCreated());
  await eventually(async () => {
    expect(attempts).toEqual([1, 2]);
    expect((await consumerInfo(service, 'ticket.created')).num_ack_pending).toBe(0);
  });
  expect((await bus.jsm.streams.info('DLQ')).state.messages).toBe(0);
});

it('holds back a version that arrives early until the missing one is applied, then applies both in order', async () => {
  const service = newService();
  const applied: number[] = [];
  let current: number | undefined = 0; // the replica already has version 0
  await startListener(
    'ticket.updated',
    async (data) => {
      const verdict = versionVerdict(current, data.version);
      if (verdict === 'early') throw new OutOfOrderError(current, data.version);
      if (verdict === 'duplicate') return;
      applied.push(data.version);
      current = data.version;
    },
    service,
    { maxDeliver: 20 },
  );
  const base = { ...ticketCreated(), version: 0 };
  await bus.publish('ticket.updated', { ...base, version: 2, title: 'v2' });
  await sleep(300); // version 2 is delivered, held back, and delivered again meanwhile
  expect(applied).toEqual([]);
  await bus.publish('ticket.updated', { ...base, version: 1, title: 'v1' });
  await eventually(() => expect(applied).toEqual([1, 2]));
  await bus.publish('ticket.updated', { ...base, version: 1, title: 'v1 again' }); // a duplicate: acked, no change
  await eventually(async () =>
    expect((await consumerInfo(service, 'ticket.updated')).num_ack_pending).toBe(0),
  );
  expect(applied).toEqual([1, 2]);
});

describe('dead letters', () => {
  it('sends bad JSON, a schema failure and an exhausted message to DLQ and keeps handling the next message', async () => {
    const service = newService();
    const handled: string[] = [];
    await startListener(
      'ticket.created',
      async (data) => {
        if (data.title === 'always fails') throw new Error('boom');
        handled.push(data.title);
      },
      service,
    );

    const js = bus.js;
    const rawHeaders = natsHeaders();
    rawHeaders.set('Ticketing-Correlation-Id', 'req-bad');
    const badJsonAck = await js.publish('ticket.created', '{"id": oops', { headers: rawHeaders });
    await js.publish('ticket.created', JSON.stringify({ ...ticketCreated(), price: 'free' }));
    await bus.publish('ticket.created', ticketCreated({ title: 'always fails' }));
    await bus.publish('ticket.created', ticketCreated({ title: 'fine' }));

    await eventually(async () => {
      expect(handled).toEqual(['fine']);
      expect((await bus.jsm.streams.info('DLQ')).state.messages).toBe(3);
    });
    const letters = await readStream({ servers: nats.url, stream: 'DLQ' });
    expect(letters.map((letter) => letter.subject)).toEqual(Array(3).fill(`dlq.${service}.ticket.created`));
    const [badJson, badSchema, exhausted] = letters;
    expect(badJson!.raw).toBe('{"id": oops');
    expect(badJson!.headers[DeadLetterHeaders.error]).toMatch(/malformed JSON/);
    expect(badJson!.headers['Ticketing-Correlation-Id']).toBe('req-bad');
    expect(badJson!.headers[DeadLetterHeaders.deliveryCount]).toBe('1');
    expect(badJson!.headers[DeadLetterHeaders.streamSequence]).toBe(String(badJsonAck.seq));
    expect(badSchema!.headers[DeadLetterHeaders.error]).toMatch(/price/);
    expect(exhausted!.headers[DeadLetterHeaders.error]).toMatch(/max deliveries \(3\).*boom/);
    expect(exhausted!.headers[DeadLetterHeaders.deliveryCount]).toBe('3');
    expect((exhausted!.data as { title: string }).title).toBe('always fails');
    await eventually(async () =>
      expect((await consumerInfo(service, 'ticket.created')).num_ack_pending).toBe(0),
    );
  });
});

it('splits the work of one durable between two replicas, each message handled exactly once', async () => {
  const service = newService();
  const byReplica: Record<'a' | 'b', string[]> = { a: [], b: [] };
  const handler = (replica: 'a' | 'b') => async (data: EventData<'ticket.created'>) => {
    byReplica[replica].push(data.id);
    await sleep(2); // some work, so both replicas get a share
  };
  await startListener('ticket.created', handler('a'), service, { batchSize: 10 });
  await startListener('ticket.created', handler('b'), service, { batchSize: 10 });
  const ids = Array.from({ length: 200 }, () => objectId());
  await Promise.all(ids.map((id) => bus.publish('ticket.created', ticketCreated({ id }))));
  await eventually(() => expect(byReplica.a.length + byReplica.b.length).toBe(200), { timeoutMs: 20_000 });
  await sleep(200);
  const all = [...byReplica.a, ...byReplica.b];
  expect(new Set(all).size).toBe(200);
  expect(all).toHaveLength(200);
  expect(new Set(all)).toEqual(new Set(ids));
  expect(byReplica.a.length).toBeGreaterThan(0);
  expect(byReplica.b.length).toBeGreaterThan(0);
});

it('stops gracefully: the handler in flight finishes and is acked, nothing is redelivered', async () => {
  const service = newService();
  const finished: string[] = [];
  let started!: () => void;
  const handlerStarted = new Promise<void>((resolve) => {
    started = resolve;
  });
  const listener = await startListener(
    'ticket.created',
    async (data) => {
      started();
      await sleep(300);
      finished.push(data.id);
    },
    service,
  );
  const data = ticketCreated();
  const ack = await bus.publish('ticket.created', data);
  await handlerStarted;
  await listener.stop();
  expect(finished).toEqual([data.id]);
  await eventually(async () => {
    const info = await consumerInfo(service, 'ticket.created');
    expect(info.num_ack_pending).toBe(0);
    expect(info.ack_floor.stream_seq).toBe(ack.seq);
  });
  // Acked, not handed back: it stays handled.
  await sleep(300);
  expect(finished).toEqual([data.id]);
  expect((await consumerInfo(service, 'ticket.created')).num_redelivered).toBe(0);
});

it('handles up to `concurrency` messages at once, never more, and a stop lets all of them finish and ack', async () => {
  const service = newService();
  let active = 0;
  let highest = 0;
  const finished: string[] = [];
  const listener = await startListener(
    'ticket.created',
    async (data) => {
      active += 1;
      highest = Math.max(highest, active);
      await sleep(150);
      active -= 1;
      finished.push(data.id);
    },
    service,
    { concurrency: 3 },
  );
  const acks = await Promise.all(
    Array.from({ length: 9 }, () => bus.publish('ticket.created', ticketCreated())),
  );
  await eventually(() => expect(highest).toBe(3));
  await listener.stop();
  expect(highest).toBe(3);
  expect(active).toBe(0);
  const info = await consumerInfo(service, 'ticket.created');
  // Each message is handled and acked, or still owed by the server: never pulled (pending), or pulled into the
  // buffer and not handled (ack pending, redelivered after ack_wait). A handled but unacked one would count twice.
  expect(finished.length + info.num_pending + info.num_ack_pending).toBe(acks.length);
  expect(finished.length).toBeGreaterThanOrEqual(3);
});

it('handles messages of one key one after the other, in stream order, and other keys beside them', async () => {
  const service = newService();
  const events: string[] = [];
  let active = 0;
  let highest = 0;
  const listener = await startListener(
    'ticket.updated',
    async (data) => {
      active += 1;
      highest = Math.max(highest, active);
      events.push(`start ${data.title}`);
      await sleep(60);
      events.push(`end ${data.title}`);
      active -= 1;
    },
    service,
    { concurrency: 4, key: (data) => data.id },
  );
  const [a, b] = [ticketCreated(), ticketCreated()];
  for (let version = 1; version <= 3; version++) {
    await bus.publish('ticket.updated', { ...a, version, title: `a${version}` });
    await bus.publish('ticket.updated', { ...b, version, title: `b${version}` });
  }
  await eventually(() => expect(events.filter((e) => e.startsWith('end'))).toHaveLength(6));
  await listener.stop();
  for (const key of ['a', 'b']) {
    const mine = events.filter(
      (e) => e.endsWith(`${key}1`) || e.endsWith(`${key}2`) || e.endsWith(`${key}3`),
    );
    expect(mine).toEqual([1, 2, 3].flatMap((v) => [`start ${key}${v}`, `end ${key}${v}`]));
  }
  expect(highest).toBe(2); // a and b at once, never two of one key
});

describe('schema evolution', () => {
  it('replays a stream holding ticket.created v1 and v2: the handler gets both in the current shape', async () => {
    const older = ticketCreated();
    const { currency: _, ...v1 } = older;
    // Written as an older publisher did: schema version 1 in the header, no currency in the payload.
    const headers = natsHeaders();
    headers.set(EventHeaders.type, 'ticket.created');
    headers.set(EventHeaders.schemaVersion, '1');
    await bus.js.publish('ticket.created', JSON.stringify(v1), { headers, msgID: 'v1-event' });
    const newer = ticketCreated();
    await bus.publish('ticket.created', newer);
    const unknown = natsHeaders();
    unknown.set(EventHeaders.schemaVersion, '3');
    await bus.js.publish('ticket.created', JSON.stringify(ticketCreated()), { headers: unknown });

    const seen: unknown[] = [];
    await startListener('ticket.created', async (data) => void seen.push(data), newService());
    await eventually(() => expect(seen).toHaveLength(2));
    expect(seen).toEqual([{ ...v1, currency: 'usd' }, newer]);
    const deadLetters = await readStream({ servers: nats.url, stream: 'DLQ' });
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.headers[DeadLetterHeaders.error]).toMatch(/schema version 3/);
  });
});
