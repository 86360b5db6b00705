import {
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  type OrderedConsumerOptions,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { StreamTimeoutError } from './errors';
import { splitServers } from './nats/server';

/** One message as JetStream stored it. */
export interface StreamMessage {
  /** Subject it was published on. */
  subject: string;
  /** Stream sequence number. */
  seq: number;
  /** Headers; a header sent several times has its values joined with `, `. */
  headers: Record<string, string>;
  /** The payload parsed as JSON, or the raw string when it is not JSON. */
  data: unknown;
  /** The payload as UTF-8 text. */
  raw: string;
  /** When the stream stored it. */
  time: Date;
}

/** Options of {@link readStream}. */
export interface ReadStreamOptions {
  /** NATS server URL(s), comma-separated. */
  servers: string;
  /** Stream name. */
  stream: string;
  /** Subject filter (wildcards allowed); default every subject of the stream. */
  filter?: string;
  /** Give up (with {@link StreamTimeoutError}) when the messages do not all arrive in this time; default 30000 ms. */
  timeoutMs?: number;
}

/** Options of {@link collectStream}. */
export interface CollectStreamOptions extends ReadStreamOptions {
  /** `all` (default): start from the first stored message; `new`: only messages stored after the call. */
  deliverFrom?: 'all' | 'new';
}

/** Messages of a stream gathered as they are stored, for asserting on what really reached JetStream. */
export interface StreamCollector {
  /** Everything collected so far, in stream order; grows while the collector is open. */
  messages: StreamMessage[];
  /** Resolves with the messages once at least `count` arrived; rejects with what did arrive after `timeoutMs` (default 10000). */
  waitFor(count: number, timeoutMs?: number): Promise<StreamMessage[]>;
  /** Stops collecting and closes the collector's connection; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Every message the stream holds right now (optionally only those matching `filter`), in stream order.
 * Messages stored after the call started are not waited for.
 */
export async function readStream(options: ReadStreamOptions): Promise<StreamMessage[]> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const nc = await connect({ servers: splitServers(options.servers), timeout: Math.min(timeoutMs, 10_000) });
  let consumer: Consumer | undefined;
  try {
    consumer = await jetstream(nc).consumers.get(options.stream, orderedOptions(options.filter));
    // The consumer's pending count at creation is exactly what the stream held (for this filter) at that moment.
    const expected = (await consumer.info(true)).num_pending;
    const out: StreamMessage[] = [];
    if (expected === 0) return out;
    const iter = await consumer.consume({ max_messages: Math.min(expected, 1_000) });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      iter.stop();
    }, timeoutMs);
    try {
      for await (const msg of iter) {
        out.push(toStreamMessage(msg));
        // pending 0 also ends the read when messages were deleted (limits, purge) while it ran.
        if (out.length >= expected || msg.info.pending === 0) break;
      }
    } finally {
      clearTimeout(timer);
      await iter.close();
    }
    if (timedOut && out.length < expected) {
      throw new StreamTimeoutError(
        `read ${out.length} of the ${expected} messages of stream ${describe(options)} in ${timeoutMs} ms`,
      );
    }
    return out;
  } finally {
    await consumer?.delete().catch(() => undefined);
    await nc.close();
  }
}

/** Starts gathering a stream's messages as they are stored; close() it when done. */
export async function collectStream(options: CollectStreamOptions): Promise<StreamCollector> {
  const nc = await connect({
    servers: splitServers(options.servers),
    timeout: Math.min(options.timeoutMs ?? 10_000, 10_000),
  });
  try {
    return await Collector.start(nc, options);
  } catch (err) {
    await nc.close();
    throw err;
  }
}

interface Waiter {
  count: number;
  resolve(messages: StreamMessage[]): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

class Collector implements StreamCollector {
  readonly messages: StreamMessage[] = [];
  private readonly waiters = new Set<Waiter>();
  private closing: Promise<void> | undefined;
  private failure: Error | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly consumer: Consumer,
    private readonly iter: ConsumerMessages,
    private readonly options: CollectStreamOptions,
  ) {}

  static async start(nc: NatsConnection, options: CollectStreamOptions): Promise<Collector> {
    const js = jetstream(nc);
    let startSeq: number | undefined;
    if (options.deliverFrom === 'new') {
      const info = await (await js.streams.get(options.stream)).info();
      startSeq = info.state.last_seq + 1;
    }
    const consumer = await js.consumers.get(options.stream, orderedOptions(options.filter, startSeq));
    const iter = await consumer.consume();
    const collector = new Collector(nc, consumer, iter, options);
    void collector.run();
    return collector;
  }

  private async run(): Promise<void> {
    try {
      for await (const msg of this.iter) {
        this.messages.push(toStreamMessage(msg));
        for (const waiter of this.waiters) {
          if (this.messages.length >= waiter.count) this.settle(waiter).resolve([...this.messages]);
        }
      }
    } catch (err) {
      this.failure = err as Error;
      for (const waiter of this.waiters) {
        this.settle(waiter).reject(
          new Error(`collecting ${describe(this.options)} failed: ${this.failure.message}`),
        );
      }
    }
  }

  waitFor(count: number, timeoutMs = 10_000): Promise<StreamMessage[]> {
    if (this.messages.length >= count) return Promise.resolve([...this.messages]);
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error(`collector of ${describe(this.options)} is closed`));
    return new Promise<StreamMessage[]>((resolve, reject) => {
      const waiter: Waiter = {
        count,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(waiter).reject(
            new StreamTimeoutError(
              `waited ${timeoutMs} ms for ${count} messages on ${describe(this.options)}, ` +
                `${this.messages.length} arrived${listMessages(this.messages)}`,
            ),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const waiter of this.waiters) {
        this.settle(waiter).reject(
          new Error(`collector of ${describe(this.options)} was closed while waiting`),
        );
      }
      try {
        await this.iter.close();
        await this.consumer.delete().catch(() => undefined);
      } finally {
        await this.nc.close();
      }
    })();
    return this.closing;
  }

  private settle(waiter: Waiter): Waiter {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter);
    return waiter;
  }
}

function orderedOptions(filter: string | undefined, startSeq?: number): Partial<OrderedConsumerOptions> {
  const options: Partial<OrderedConsumerOptions> =
    startSeq === undefined
      ? { deliver_policy: DeliverPolicy.All }
      : // A start sequence, unlike DeliverPolicy.New, survives the ordered consumer recreating itself.
        { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq };
  if (filter !== undefined) options.filter_subjects = filter;
  return options;
}

function toStreamMessage(msg: JsMsg): StreamMessage {
  const raw = msg.string();
  let data: unknown = raw;
  try {
    data = JSON.parse(raw);
  } catch {
    // Not JSON: the text itself is the most useful thing to assert on.
  }
  const headers: Record<string, string> = {};
  if (msg.headers) {
    for (const key of msg.headers.keys()) headers[key] = msg.headers.values(key).join(', ');
  }
  return { subject: msg.subject, seq: msg.seq, headers, data, raw, time: msg.time };
}

function describe(options: ReadStreamOptions): string {
  return options.filter === undefined ? options.stream : `${options.stream} (filter ${options.filter})`;
}

function listMessages(messages: StreamMessage[]): string {
  if (messages.length === 0) return '';
  const shown = messages.slice(0, 20).map((m) => {
    const raw = m.raw.length > 200 ? `${m.raw.slice(0, 200)}…` : m.raw;
    return `\n  #${m.seq} ${m.subject} ${raw}`;
  });
  const more = messages.length > shown.length ? `\n  … and ${messages.length - shown.length} more` : '';
  return `:${shown.join('')}${more}`;
}

/**
 * The ids of the events of `changes` (change documents of a store, their events as the outbox holds them) that
 * `messages` (what a stream holds) lacks: each event is published with its id as `Nats-Msg-Id`. Empty once every
 * committed event reached the stream.
 */
export function missingEvents(
  changes: ReadonlyArray<{ events?: ReadonlyArray<{ id: string }> }>,
  messages: readonly StreamMessage[],
): string[] {
  const stored = new Set(messages.map((message) => message.headers['Nats-Msg-Id']));
  return changes
    .flatMap((change) => (change.events ?? []).map((event) => event.id))
    .filter((id) => !stored.has(id));
}
