import type { EventEmitter } from 'node:events';
import type { Collection } from 'mongoose';
import { Counter, Gauge, type Registry } from 'prom-client';
import { isSubject } from '../events/catalog';
import { EventSchemaError } from '../events/errors';
import type { Logger } from '../logging';
import type { OutboxEvent } from './event';
import { OUTBOX_FIELD, OUTBOX_WRITE_EVENT } from './outbox';

/** Anything that publishes an outbox event and resolves once JetStream acknowledged it (the {@link Bus}). */
export interface EventPublisher {
  /** Publishes and waits for the PubAck. */
  publishEvent(event: OutboxEvent): Promise<unknown>;
}

/** A collection whose documents carry an outbox (a mongoose model's `.collection`). */
export type OutboxCollection = Pick<Collection, 'find' | 'updateOne' | 'collectionName'>;

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** Where to publish. */
  publisher: EventPublisher;
  /** Collections of aggregates that use the outbox plugin. */
  collections: OutboxCollection[];
  /** Logger for failures and back-off. */
  logger: Logger;
  /** Pass interval when nothing kicks the relay, in ms (default 1000): catches writes of crashed peers. */
  intervalMs?: number;
  /** Aggregates read per query (default 100). */
  batchSize?: number;
  /** Aggregates published in parallel; events of one aggregate are always sequential (default 8). */
  concurrency?: number;
  /** First back-off after a failed publish, in ms (default 200); doubles up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  /** Longest back-off, in ms (default 10000). */
  maxBackoffMs?: number;
  /** Registry for the pending-count, oldest-age and published metrics. */
  metrics?: Registry;
  /** The connection whose model writes emit {@link OUTBOX_WRITE_EVENT}; each one kicks the relay. */
  writes?: Pick<EventEmitter, 'on' | 'off'>;
}

interface StoredAggregate {
  _id: unknown;
  outbox: OutboxEvent[];
}

/** The query that finds aggregates with at least one pending event. */
const HAS_PENDING = { [`${OUTBOX_FIELD}.0`]: { $exists: true } };

/**
 * Publishes the events that aggregates wrote into their outbox: in order per aggregate, removing each only
 * after JetStream acknowledged it. Runs after each write (`kick`) and on a timer, and backs off while NATS
 * is unreachable. Several relays may run at once: the event id de-duplicates on the stream.
 */
export class OutboxRelay {
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private failures = 0;
  private started = false;
  private readonly publishedTotal: Counter | undefined;
  private readonly failuresTotal: Counter | undefined;
  private readonly onWrite = () => this.kick();

  constructor(private readonly options: OutboxRelayOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 100;
    this.concurrency = options.concurrency ?? 8;
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    if (options.metrics) {
      const registers = [options.metrics];
      this.publishedTotal = new Counter({
        name: 'outbox_published_total',
        help: 'Outbox events published and acknowledged by JetStream',
        registers,
      });
      this.failuresTotal = new Counter({
        name: 'outbox_publish_failures_total',
        help: 'Relay passes that stopped on a failed publish',
        registers,
      });
      const relay = this;
      new Gauge({
        name: 'outbox_pending_events',
        help: 'Events written to outboxes and not yet acknowledged by JetStream',
        registers,
        async collect() {
          this.set((await relay.pendingStats()).count);
        },
      });
      new Gauge({
        name: 'outbox_oldest_pending_age_seconds',
        help: 'Age of the oldest unpublished outbox event (0 when none)',
        registers,
        async collect() {
          this.set((await relay.pendingStats()).oldestAgeSeconds);
        },
      });
    }
  }

  /** Starts the timer and a first pass. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.timer = setInterval(() => this.kick(), this.intervalMs);
    this.timer.unref();
    this.options.writes?.on(OUTBOX_WRITE_EVENT, this.onWrite);
    this.kick();
  }

  /** Asks for a pass soon: call it right after a write that pushed events. Cheap and coalescing. */
  kick(): void {
    if (!this.started) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    if (this.retryTimer) return; // backing off: the retry timer will run the pass
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /** Stops the timer and waits for the pass in progress; pending events stay for the next relay. */
  async stop(): Promise<void> {
    this.started = false;
    this.options.writes?.off(OUTBOX_WRITE_EVENT, this.onWrite);
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.running;
  }

  /** Pending events and the age of the oldest one, read from the collections. */
  async pendingStats(): Promise<{ count: number; oldestAgeSeconds: number }> {
    let count = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (const collection of this.options.collections) {
      const docs = await collection
        .find(HAS_PENDING, { projection: { [`${OUTBOX_FIELD}.occurredAt`]: 1 } })
        .toArray();
      for (const doc of docs as unknown as Array<{ outbox: Array<{ occurredAt: Date }> }>) {
        count += doc.outbox.length;
        for (const event of doc.outbox) oldest = Math.min(oldest, new Date(event.occurredAt).getTime());
      }
    }
    return { count, oldestAgeSeconds: count === 0 ? 0 : Math.max(0, (Date.now() - oldest) / 1000) };
  }

  /**
   * One pass over every collection: publishes all pending events found. Resolves with how many this relay
   * published and removed; rejects on the first failed publish (the rest stay pending, in order).
   */
  async runOnce(): Promise<number> {
    let published = 0;
    for (const collection of this.options.collections) {
      let more = true;
      while (more) {
        const docs = (await collection
          .find(HAS_PENDING, { projection: { [OUTBOX_FIELD]: 1 } })
          .limit(this.batchSize)
          .toArray()) as unknown as StoredAggregate[];
        const removed = await this.publishAll(collection, docs);
        published += removed;
        // A full batch may hide more aggregates; stop when nothing moved (only unpublishable events left).
        more = docs.length === this.batchSize && removed > 0;
      }
    }
    return published;
  }

  private async publishAll(collection: OutboxCollection, docs: StoredAggregate[]): Promise<number> {
    let removed = 0;
    let firstError: unknown;
    let next = 0;
    const worker = async () => {
      while (next < docs.length && firstError === undefined) {
        const doc = docs[next++]!;
        try {
          const count = await this.publishAggregate(collection, doc);
          removed += count;
        } catch (error) {
          firstError ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, docs.length) }, worker));
    if (firstError !== undefined) throw firstError;
    return removed;
  }

  /** Publishes an aggregate's events in order; resolves with how many this relay removed from its outbox. */
  private async publishAggregate(collection: OutboxCollection, doc: StoredAggregate): Promise<number> {
    let removed = 0;
    for (const stored of doc.outbox) {
      if (!isSubject(stored.subject)) {
        this.options.logger.error(
          { eventId: stored.id, subject: stored.subject },
          'outbox event has an unknown subject; left pending',
        );
        return removed;
      }
      const event: OutboxEvent = { ...stored, occurredAt: new Date(stored.occurredAt) };
      try {
        await this.options.publisher.publishEvent(event);
      } catch (error) {
        if (error instanceof EventSchemaError) {
          // Retrying cannot help and later events of this aggregate must not overtake it: leave it visible.
          this.options.logger.error(
            { err: error, eventId: event.id },
            'outbox event fails its schema; left pending',
          );
          return removed;
        }
        throw error;
      }
      // Remove the head only if it is still this event: a concurrent relay may have removed it already,
      // and the order of the array is the publishing order.
      const removal = await collection.updateOne(
        { _id: doc._id, [`${OUTBOX_FIELD}.0.id`]: event.id } as never,
        { $pop: { [OUTBOX_FIELD]: -1 } } as never,
      );
      removed += removal.modifiedCount;
      this.publishedTotal?.inc();
    }
    return removed;
  }

  private async loop(): Promise<void> {
    do {
      this.rerun = false;
      try {
        await this.runOnce();
        this.failures = 0;
      } catch (error) {
        this.failures++;
        this.failuresTotal?.inc();
        const delay = Math.min(this.initialBackoffMs * 2 ** (this.failures - 1), this.maxBackoffMs);
        this.options.logger.warn(
          { err: error, retryInMs: delay, failures: this.failures },
          'outbox relay: publish failed, backing off',
        );
        if (this.started) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.kick();
          }, delay);
          this.retryTimer.unref();
        }
        return;
      }
    } while (this.rerun && this.started);
  }
}
