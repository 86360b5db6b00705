import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import mongoose, { type Connection, type Model, type Schema } from 'mongoose';
import { type Bus, connectBus } from '../bus/bus';
import { aggregateIdOf, durableName, type Subscription } from '../bus/listener';
import { receiveEvent } from '../bus/received';
import { type Env, parseConfig, type ServiceConfig } from '../config';
import { runWithContext } from '../context';
import { eventCatalog, isSubject, type Subject } from '../events/catalog';
import { OutOfOrderError, PoisonMessageError } from '../events/errors';
import { SlidingWindowLimit } from '../http/rate-limit';
import { createLogger } from '../logging';
import { createMetricsRegistry } from '../metrics';
import type { ServiceContext, ServiceDefinition } from '../service/run';
import { AggregateStore } from '../store/aggregate-store';

/** Where a replay starts reading the streams (default: their first message). */
export type ReplayStart = { since: Date } | { fromSeq: number } | undefined;

/** How far a replay is, for a progress line. */
export interface ReplayProgress {
  replayed: number;
  total: number;
  /** Messages per second so far. */
  rate: number;
  /** Seconds left at that rate. */
  etaSeconds: number;
}

/** One rebuilt store compared with the live one. */
export interface StoreComparison {
  store: string;
  live: number;
  rebuilt: number;
  /** Ids whose head differs, is missing on one side, or is extra. */
  differing: number;
  /** The first differing heads, as each side holds them (null: absent). */
  firstDifferences: Array<{ id: string; live: unknown; rebuilt: unknown }>;
}

/** What a replay did. */
export interface ReplayReport {
  service: string;
  mode: 'check' | 'apply';
  /** Messages read off the streams, per stream. */
  streams: Record<string, number>;
  replayed: number;
  /** Messages no handler could take: poison (bad JSON, schema) or a handler's PoisonMessageError. */
  skipped: number;
  /**
   * Aggregates whose history starts before the replay did (a version came without its predecessor): left out
   * of the comparison and of the swap.
   */
  incomplete: number;
  stores: StoreComparison[];
  identical: boolean;
  /** With `apply`: the rebuilt heads and histories replaced the live ones (only when they differed). */
  applied: boolean;
  seconds: number;
}

/** Options of {@link replayService}. */
export interface ReplayOptions {
  /** The service's environment (`MONGO_URL` names its live database, `NATS_URL` the bus). */
  env: Env;
  mode: 'check' | 'apply';
  start?: ReplayStart;
  onProgress?(progress: ReplayProgress): void;
  /** How many differing heads the report shows per store (default 3). */
  showDifferences?: number;
}

/** Keys sorted at every depth, so that two heads compare by content, not by field order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Date) return value.toISOString();
  if (value === null || typeof value !== 'object') return value;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return String(value);
  return Object.fromEntries(
    Object.keys(value)
      .filter((key) => key !== '__v')
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
}

/**
 * Which aggregates a replay speaks for: all of them when it read the streams from the start; from a later start,
 * only those it rebuilt from their first version (the others' history began before it).
 */
interface Scope {
  includes(id: string): boolean;
}

async function scopeOf(rebuilt: AggregateStore<object>, fromTheStart: boolean, incomplete: Set<string>) {
  if (fromTheStart) return { all: true, includes: (id: string) => !incomplete.has(id) };
  const ids = new Set((await rebuilt.heads.find({}, { projection: { _id: 1 } }).toArray()).map((h) => h._id));
  return { all: false, ids: [...ids], includes: (id: string) => ids.has(id) && !incomplete.has(id) };
}

async function compare(
  live: AggregateStore<object>,
  rebuilt: AggregateStore<object>,
  scope: Scope,
  show: number,
): Promise<StoreComparison> {
  const byId = async (store: AggregateStore<object>) =>
    new Map(
      (await store.heads.find({}).toArray())
        .filter((head) => scope.includes(head._id))
        .map((head) => [head._id, JSON.stringify(canonical(head))]),
    );
  const [liveHeads, rebuiltHeads] = await Promise.all([byId(live), byId(rebuilt)]);
  const ids = [...new Set([...liveHeads.keys(), ...rebuiltHeads.keys()])].sort();
  const differing = ids.filter((id) => liveHeads.get(id) !== rebuiltHeads.get(id));
  const parse = (text: string | undefined) => (text === undefined ? null : JSON.parse(text));
  return {
    store: live.name,
    live: liveHeads.size,
    rebuilt: rebuiltHeads.size,
    differing: differing.length,
    firstDifferences: differing
      .slice(0, show)
      .map((id) => ({ id, live: parse(liveHeads.get(id)), rebuilt: parse(rebuiltHeads.get(id)) })),
  };
}

/** The live store's heads and histories, of the aggregates in scope, become the rebuilt ones. */
async function swapIn(
  live: AggregateStore<object>,
  rebuilt: AggregateStore<object>,
  scope: Awaited<ReturnType<typeof scopeOf>>,
  incomplete: Set<string>,
): Promise<void> {
  const kept = [...incomplete];
  const replaced = scope.all ? { $nin: kept } : { $in: scope.ids!.filter((id) => !incomplete.has(id)) };
  await live.heads.deleteMany({ _id: replaced });
  await live.changes.deleteMany({ aggregateId: replaced });
  const heads = (await rebuilt.heads.find({}).toArray()).filter((head) => scope.includes(head._id));
  const changes = (await rebuilt.changes.find({}).toArray()).filter((c) => scope.includes(c.aggregateId));
  if (changes.length > 0) await live.changes.insertMany(changes);
  if (heads.length > 0) await live.heads.insertMany(heads);
}

/** A context like the runner's, on `db`, whose stores publish nothing (a replay writes replicas, no events). */
function scratchContext<C extends ServiceConfig>(
  definition: ServiceDefinition<C>,
  config: C,
  connection: Connection,
  bus: Bus,
  stores: Array<AggregateStore<object>>,
): ServiceContext<C> {
  return {
    name: definition.name,
    config,
    logger: createLogger({ service: `${definition.name}-replay`, level: 'warn' }),
    metrics: createMetricsRegistry(`${definition.name}-replay`),
    connection,
    bus,
    store<S extends object>(name: string) {
      const store = new AggregateStore<S>(connection.db!, name, {}, { repairAfterMs: 0 });
      stores.push(store as AggregateStore<object>);
      return store;
    },
    model<T>(name: string, schema: Schema<T>) {
      return (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
    },
    rateLimit(options) {
      return new SlidingWindowLimit(connection, { ...options, keySecret: Buffer.from('replay') });
    },
  };
}

function deliverFrom(start: ReplayStart) {
  if (!start) return { deliver_policy: DeliverPolicy.All };
  if ('since' in start)
    return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.since.toISOString() };
  return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.fromSeq };
}

/**
 * Rebuilds, into a scratch database beside the service's own, what the service holds about other services'
 * aggregates: its subscriptions declared with {@link replicate}, run on every message of their subjects read
 * in stream order by an ephemeral ordered consumer (their side effects are not run). Then compares the
 * rebuilt heads with the live ones; with `apply`, and when they differ, swaps the rebuilt heads and histories
 * in while the service's durable consumers of those subjects are paused (they resume where they were: what
 * they redeliver is a duplicate of a version the rebuild applied). The scratch database is dropped at the end.
 */
export async function replayService<C extends ServiceConfig>(
  definition: ServiceDefinition<C>,
  options: ReplayOptions,
): Promise<ReplayReport> {
  const started = Date.now();
  const config = parseConfig(definition.configSchema, options.env);
  const logger = createLogger({ service: `${definition.name}-replay`, level: config.LOG_LEVEL });
  const connection = await mongoose
    .createConnection(config.MONGO_URL, { serverSelectionTimeoutMS: 10_000 })
    .asPromise();
  const scratch = connection.useDb(`${connection.name}-replay`, { useCache: false });
  const bus = await connectBus({
    servers: config.NATS_URL,
    name: `${definition.name}-replay`,
    logger,
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
  });
  const paused: Array<{ stream: string; durable: string }> = [];
  try {
    await scratch.dropDatabase();
    const scratchStores: Array<AggregateStore<object>> = [];
    const parts = await definition.build(scratchContext(definition, config, scratch, bus, scratchStores));
    const replayed = (parts.listeners ?? []).filter((s) => s.replay) as Subscription[];
    const rebuilt = [...new Set(replayed.flatMap((s) => s.rebuilds ?? []))];
    for (const store of rebuilt) await store.init();

    const subjectsByStream = new Map<string, Subject[]>();
    // Streams of the subscriptions that rebuild a replica first, then those that only change what was rebuilt
    // (erasure): an erased user's data is erased from the rebuilt replica as it was from the live one.
    const rebuilding = (s: Subscription) => (s.rebuilds?.length ?? 0) > 0;
    replayed.sort((a, b) => Number(rebuilding(b)) - Number(rebuilding(a)));
    for (const { subject } of replayed) {
      const stream = eventCatalog[subject].stream;
      subjectsByStream.set(stream, [...(subjectsByStream.get(stream) ?? []), subject]);
    }
    if (options.mode === 'apply') {
      for (const [stream, subjects] of subjectsByStream) {
        for (const subject of subjects) {
          const durable = durableName(definition.name, subject);
          await bus.jsm.consumers.pause(stream, durable, new Date(Date.now() + 3_600_000));
          paused.push({ stream, durable });
        }
      }
      // The handlers already running finish before the replica is read and replaced.
      for (const { stream, durable } of paused) {
        for (let waited = 0; waited < 30_000; waited += 100) {
          if ((await bus.jsm.consumers.info(stream, durable)).num_ack_pending === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }

    const bySubject = new Map(replayed.map((s) => [s.subject, s]));
    const incomplete = new Set<string>();
    const counts: Record<string, number> = {};
    let done = 0;
    let skipped = 0;
    const plans = [];
    for (const [stream, subjects] of subjectsByStream) {
      const last = (await bus.jsm.streams.info(stream)).state.last_seq;
      const consumer = await bus.js.consumers.get(stream, {
        filter_subjects: subjects,
        ...deliverFrom(options.start),
      });
      plans.push({ stream, consumer, last, pending: (await consumer.info()).num_pending });
    }
    const total = plans.reduce((sum, plan) => sum + plan.pending, 0);
    const report = () => {
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const rate = done / seconds;
      options.onProgress?.({
        replayed: done,
        total,
        rate,
        etaSeconds: rate > 0 ? (total - done) / rate : 0,
      });
    };
    for (const { stream, consumer, last, pending } of plans) {
      counts[stream] = 0;
      if (pending === 0) continue;
      const messages = await consumer.consume();
      const take = async (msg: JsMsg) => {
        const subscription = isSubject(msg.subject) ? bySubject.get(msg.subject) : undefined;
        if (!subscription) return;
        const received = receiveEvent(subscription.subject, {
          stream,
          seq: msg.seq,
          time: msg.time,
          headers: msg.headers,
          text: msg.string(),
        });
        if ('poison' in received) {
          skipped++;
          return;
        }
        const id = aggregateIdOf(received.data);
        if (incomplete.has(id)) return;
        try {
          await runWithContext({ correlationId: received.meta.correlationId }, () =>
            subscription.replay!(received.data, received.meta),
          );
        } catch (error) {
          if (error instanceof OutOfOrderError) incomplete.add(id);
          else if (error instanceof PoisonMessageError) skipped++;
          else throw error;
        }
      };
      for await (const msg of messages) {
        await take(msg);
        counts[stream]++;
        done++;
        if (done % 50 === 0) report();
        if (msg.seq >= last || msg.info.pending === 0) break;
      }
      await messages.close();
    }
    report();

    const live = rebuilt.map((store) => new AggregateStore<object>(connection.db!, store.name));
    const scopes = await Promise.all(rebuilt.map((store) => scopeOf(store, !options.start, incomplete)));
    const show = options.showDifferences ?? 3;
    const stores = await Promise.all(rebuilt.map((store, i) => compare(live[i]!, store, scopes[i]!, show)));
    const identical = stores.every((store) => store.differing === 0);
    let applied = false;
    if (options.mode === 'apply' && !identical) {
      for (const [i, store] of rebuilt.entries()) await swapIn(live[i]!, store, scopes[i]!, incomplete);
      applied = true;
    }
    return {
      service: definition.name,
      mode: options.mode,
      streams: counts,
      replayed: done,
      skipped,
      incomplete: incomplete.size,
      stores,
      identical,
      applied,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    for (const { stream, durable } of paused) {
      await bus.jsm.consumers.resume(stream, durable).catch((error: unknown) => {
        logger.error({ err: error, durable }, 'could not resume consumer; it resumes by itself in an hour');
      });
    }
    await scratch.dropDatabase().catch(() => undefined);
    await bus.close();
    await connection.close();
  }
}
