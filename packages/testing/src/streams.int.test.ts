import { randomBytes } from 'node:crypto';
import { type JetStreamClient, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { StreamTimeoutError } from './errors';
import { type NatsServerHandle, startNats } from './nats/server';
import { collectStream, readStream, type StreamCollector } from './streams';

describe('stream helpers', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let js: JetStreamClient;
  const collectors: StreamCollector[] = [];

  beforeAll(async () => {
    server = await startNats();
    nc = await connect({ servers: server.url });
    js = jetstream(nc);
  });

  afterEach(async () => {
    await Promise.all(collectors.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await nc?.close();
    await server?.close();
  });

  /** A fresh stream per test, so the tests also work against a shared NATS_URL server. */
  async function newStream(): Promise<{ name: string; prefix: string }> {
    const suffix = randomBytes(4).toString('hex');
    const name = `T_${suffix}`;
    const prefix = `t${suffix}`;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name, subjects: [`${prefix}.>`], storage: StorageType.File });
    return { name, prefix };
  }

  async function publish(subject: string, body: string, hdrs: Record<string, string> = {}): Promise<number> {
    const h = headers();
    for (const [key, value] of Object.entries(hdrs)) h.set(key, value);
    return (await js.publish(subject, body, { headers: h })).seq;
  }

  it('readStream returns every stored message in order, with headers and parsed data', async () => {
    const { name, prefix } = await newStream();
    await publish(`${prefix}.ticket.created`, JSON.stringify({ id: 't1', price: 10 }), {
      'Nats-Msg-Id': 'e1',
      'Event-Type': 'ticket.created',
    });
    await publish(`${prefix}.order.created`, JSON.stringify({ id: 'o1' }), { 'Nats-Msg-Id': 'e2' });
    await publish(`${prefix}.ticket.updated`, 'not json', { 'Nats-Msg-Id': 'e3' });

    const before = Date.now();
    const messages = await readStream({ servers: server.url, stream: name });
    expect(messages.map((m) => m.subject)).toEqual([
      `${prefix}.ticket.created`,
      `${prefix}.order.created`,
      `${prefix}.ticket.updated`,
    ]);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(messages[0]!.headers).toEqual({ 'Nats-Msg-Id': 'e1', 'Event-Type': 'ticket.created' });
    expect(messages[0]!.data).toEqual({ id: 't1', price: 10 });
    expect(messages[0]!.raw).toBe('{"id":"t1","price":10}');
    expect(messages[1]!.headers).toEqual({ 'Nats-Msg-Id': 'e2' });
    expect(messages[2]!.data).toBe('not json');
    expect(messages[2]!.time).toBeInstanceOf(Date);
    expect(messages[2]!.time.getTime()).toBeLessThanOrEqual(before + 1_000);

    const tickets = await readStream({ servers: server.url, stream: name, filter: `${prefix}.ticket.*` });
    expect(tickets.map((m) => m.seq)).toEqual([1, 3]);

    // The read leaves no consumer behind on the stream.
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(name)).state.consumer_count).toBe(0);
  });

  it('readStream of an empty stream, or of a filter nothing matches, is empty', async () => {
    const { name, prefix } = await newStream();
    expect(await readStream({ servers: server.url, stream: name })).toEqual([]);
    await publish(`${prefix}.a`, '{}');
    expect(await readStream({ servers: server.url, stream: name, filter: `${prefix}.b` })).toEqual([]);
  });

  it('readStream of a stream that does not exist rejects', async () => {
    await expect(readStream({ servers: server.url, stream: 'NO_SUCH_STREAM' })).rejects.toThrow(
      /stream not found/i,
    );
  });

  it('collectStream gathers stored and new messages as they arrive', async () => {
    const { name, prefix } = await newStream();
    await publish(`${prefix}.one`, JSON.stringify({ n: 1 }), { 'Event-Type': 'one' });
    const collector = await collectStream({ servers: server.url, stream: name });
    collectors.push(collector);
    await publish(`${prefix}.two`, JSON.stringify({ n: 2 }), { 'Event-Type': 'two' });
    await publish(`${prefix}.three`, JSON.stringify({ n: 3 }), { 'Event-Type': 'three' });

    const messages = await collector.waitFor(3);
    expect(messages.map((m) => [m.seq, m.subject, m.headers['Event-Type'], m.data])).toEqual([
      [1, `${prefix}.one`, 'one', { n: 1 }],
      [2, `${prefix}.two`, 'two', { n: 2 }],
      [3, `${prefix}.three`, 'three', { n: 3 }],
    ]);
    expect(collector.messages).toHaveLength(3);
  });

  it("collectStream with deliverFrom 'new' skips what was stored before, and honours the filter", async () => {
    const { name, prefix } = await newStream();
    await publish(`${prefix}.keep`, JSON.stringify({ old: true }));
    const collector = await collectStream({
      servers: server.url,
      stream: name,
      filter: `${prefix}.keep`,
      deliverFrom: 'new',
    });
    collectors.push(collector);
    await publish(`${prefix}.skip`, JSON.stringify({ other: true }));
    await publish(`${prefix}.keep`, JSON.stringify({ old: false }));

    const messages = await collector.waitFor(1);
    expect(messages.map((m) => [m.seq, m.data])).toEqual([[3, { old: false }]]);
  });

  it('waitFor rejects after its timeout, listing what did arrive', async () => {
    const { name, prefix } = await newStream();
    await publish(`${prefix}.first`, JSON.stringify({ n: 1 }));
    await publish(`${prefix}.second`, 'plain text');
    const collector = await collectStream({ servers: server.url, stream: name });
    collectors.push(collector);
    await collector.waitFor(2); // both stored messages have arrived; the wait below times out on the third

    const started = Date.now();
    const err = await collector.waitFor(5, 300).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(err).toBeInstanceOf(StreamTimeoutError);
    expect(err).toMatchObject({ name: 'StreamTimeoutError', code: 'STREAM_TIMEOUT' });
    const message = (err as Error).message;
    expect(message).toContain(`waited 300 ms for 5 messages on ${name}, 2 arrived`);
    expect(message).toContain(`#1 ${prefix}.first {"n":1}`);
    expect(message).toContain(`#2 ${prefix}.second plain text`);
  });

  it('close() ends collecting and fails pending waits', async () => {
    const { name, prefix } = await newStream();
    const collector = await collectStream({ servers: server.url, stream: name });
    const pending = collector.waitFor(1, 5_000);
    await collector.close();
    await expect(pending).rejects.toThrow(/closed/);
    await publish(`${prefix}.late`, '{}');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(collector.messages).toEqual([]);
    await collector.close();
  });
});
