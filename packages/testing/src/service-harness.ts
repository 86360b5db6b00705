import { randomUUID } from 'node:crypto';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { eventually } from './eventually';
import { type MongoHandle, startMongo } from './mongo';
import { type NatsServerHandle, startNats } from './nats/server';
import { serviceTestEnv } from './service-env';
import { readStream, type StreamMessage } from './streams';

/** What the harness needs of a started service (common's `RunningService`). */
export interface HarnessedService {
  stop(): Promise<void>;
}

/** A registry of Prometheus metrics, as prom-client's `Registry` has it. */
export interface MetricsRegistry {
  getSingleMetric(
    name: string,
  ): { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> } | undefined;
}

/** One service on its own nats-server and database, for one test file. */
export interface ServiceHarness<R extends HarnessedService> {
  nats: NatsServerHandle;
  mongo: MongoHandle;
  /** The started service. */
  running: R;
  /** Resolves once the durable consumer `durable` of `stream` has settled every message up to `seq`. */
  settled(stream: string, durable: string, seq: number): Promise<void>;
  /** The messages `stream` holds (optionally only `filter`), in stream order. */
  messages(stream: string, filter?: string): Promise<StreamMessage[]>;
  /** Stops the service, drops the database, stops nats-server. */
  stop(): Promise<void>;
}

/**
 * Starts a real nats-server and a fresh database, then the service with `start` on the environment of a service
 * under test ({@link serviceTestEnv} plus `env`).
 */
export async function startServiceHarness<R extends HarnessedService>(
  start: (env: Record<string, string | undefined>) => Promise<R>,
  env: Record<string, string | undefined> = {},
): Promise<ServiceHarness<R>> {
  const [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  let running: R;
  let inspector: NatsConnection;
  let jsm: JetStreamManager;
  try {
    running = await start(serviceTestEnv({ nats, mongo }, env));
    inspector = await connect({ servers: nats.url, name: 'harness' });
    jsm = await jetstreamManager(inspector);
  } catch (error) {
    await mongo.stop();
    await nats.close();
    throw error;
  }
  return {
    nats,
    mongo,
    running,
    async settled(stream, durable, seq) {
      await eventually(async () => {
        const info = await jsm.consumers.info(stream, durable);
        if (info.ack_floor.stream_seq < seq) {
          throw new Error(
            `${durable} has settled up to ${info.ack_floor.stream_seq} of ${stream}, not ${seq}`,
          );
        }
      });
    },
    messages(stream, filter) {
      return readStream({ servers: nats.url, stream, filter });
    },
    async stop() {
      await running.stop();
      await inspector.close();
      await mongo.stop();
      await nats.close();
    },
  };
}

/** The sum of a counter's values whose labels include `labels` (0 when the metric does not exist yet). */
export async function metricTotal(
  registry: MetricsRegistry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))
    .reduce((sum, value) => sum + value.value, 0);
}

/** The collections of a store (common's `AggregateStore`), as a crash simulation writes around it. */
export interface StoreCollections {
  changes: { insertOne(document: never): Promise<unknown> };
  heads: { replaceOne(filter: never, document: never, options: { upsert: boolean }): Promise<unknown> };
}

/** What {@link leaveCrashedChange} writes besides the change. */
export interface CrashedChangeOptions {
  /** How long ago the writer died, in ms. */
  ageMs: number;
  /** Whether the writer got as far as writing the head. */
  head: boolean;
  /** The events of the change, as an outbox holds them. */
  events?: unknown[];
  /**
   * The record collection of the service's relays (`outbox_writers` of its database): with events, the change is
   * left as a relay that died before publishing leaves it (tagged by that relay, which the collection lists as
   * owing the change's epoch and silent since `ageMs` ago), for the live relays to recover.
   */
  relays?: { insertOne(document: never): Promise<unknown> };
}

/**
 * Writes version `version` of an aggregate the way a writer that died `ageMs` ago left it: its change (the claim
 * of that version, with its events) and, if it got that far, its head. Written around the store, as only a
 * crash can produce it.
 */
export async function leaveCrashedChange(
  store: StoreCollections,
  id: string,
  version: number,
  state: object,
  options: CrashedChangeOptions,
): Promise<void> {
  const events = options.events ?? [];
  const at = new Date(Date.now() - options.ageMs);
  let writer: string | undefined;
  if (events.length > 0 && options.relays) {
    const relay = `dead-${randomUUID()}`;
    writer = `${relay}.1`;
    await options.relays.insertOne({ _id: relay, heartbeatAt: at, open: [1] } as never);
  }
  await store.changes.insertOne({
    _id: `${id}:${version}`,
    aggregateId: id,
    version,
    state,
    events,
    at,
    ...(writer ? { writer } : {}),
  } as never);
  if (options.head) {
    await store.heads.replaceOne({ _id: id } as never, { ...state, version } as never, { upsert: true });
  }
}
