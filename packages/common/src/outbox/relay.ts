import type { EventEmitter } from 'node:events';
import { Counter, Gauge, type Registry } from 'prom-client';
import { isSubject } from '../events/catalog';
import { EventSchemaError } from '../events/errors';
import type { Logger } from '../logging';
import {
  AGGREGATE_WRITE_EVENT,
  type AggregateStore,
  type ChangeDocument,
  type PendingMarker,
} from '../store/aggregate-store';
import type { OutboxEvent } from './event';

/** Anything that publishes an outbox event and resolves once JetStream acknowledged it (the {@link Bus}). */
export interface EventPublisher {
  /** Publishes and waits for the PubAck. */
  publishEvent(event: OutboxEvent): Promise<unknown>;
}

/** The part of an {@link AggregateStore} the relay uses. */
export type RelayStore = Pick<AggregateStore<object>, 'changes' | 'pending' | 'catchUp'>;

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** Where to publish. */
  publisher: EventPublisher;
  /** The stores whose changes carry events. */
  stores: RelayStore[];
  /** Logger for failures and back-off. */
  logger: Logger;
  /** Pass interval when nothing kicks the relay, in ms (default 1000): catches writes of crashed peers. */
  intervalMs?: number;
  /** Pending markers read per query (default 500). */
  batchSize?: number;
  /** Age after which a marker whose change does not exist is removed (its writer lost the claim or died), in ms. */
  orphanAfterMs?: number;
  /** Aggregates published in parallel; changes of one aggregate are always sequential (default 8). */
  concurrency?: number;
  /** First back-off after a failed publish, in ms (default 200); doubles up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  /** Longest back-off, in ms (default 10000). */
  maxBackoffMs?: number;
  /** Registry for the pending-count, oldest-age and published metrics. */
  metrics?: Registry;
  /** The connection whose stores emit {@link AGGREGATE_WRITE_EVENT} after each change: each one kicks the relay. */
  writes?: Pick<EventEmitter, 'on' | 'off'>;
}

/** A pending change with the markers that stand for it. */
interface PendingChange {
  change: ChangeDocument;
  markers: string[];
}

/**
 * Publishes the events of committed changes: in version order per aggregate, marking a change published only
 * after JetStream acknowledged all its events (and its head caught up). Runs after each write (`kick`) and on
 * a timer, and backs off while NATS is unreachable. Several relays may run at once: the event id is the
 * `Nats-Msg-Id`, so the stream stores each event once.
 */
export class OutboxRelay {
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly orphanAfterMs: number;
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
  private statsReading: Promise<{ count: number; oldestAgeSeconds: number }> | undefined;

  constructor(private readonly options: OutboxRelayOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 500;
    this.orphanAfterMs = options.orphanAfterMs ?? 60_000;
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
        help: 'Events of committed changes not yet acknowledged by JetStream',
        registers,
        async collect() {
          this.set((await relay.pendingStats()).count);
        },
      });
      new Gauge({
        name: 'outbox_oldest_pending_age_seconds',
        help: 'Age of the oldest unpublished change (0 when none)',
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
    this.options.writes?.on(AGGREGATE_WRITE_EVENT, this.onWrite);
    this.kick();
  }

  /** Asks for a pass soon: cheap and coalescing. Stores kick it after every write through `writes`. */
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
    this.options.writes?.off(AGGREGATE_WRITE_EVENT, this.onWrite);
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.running;
  }

  /**
   * Pending events and the age of the oldest unpublished change, read from the stores' markers (read only).
   * Both gauges of one scrape share one reading.
   */
  pendingStats(): Promise<{ count: number; oldestAgeSeconds: number }> {
    this.statsReading ??= this.readPendingStats().finally(() => {
      this.statsReading = undefined;
    });
    return this.statsReading;
  }

  private async readPendingStats(): Promise<{ count: number; oldestAgeSeconds: number }> {
    let count = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (const store of this.options.stores) {
      for (const { change } of await this.pendingChanges(store, Number.MAX_SAFE_INTEGER, false)) {
        count += change.events.length;
        oldest = Math.min(oldest, new Date(change.at).getTime());
      }
    }
    return {
      count,
      oldestAgeSeconds: oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
    };
  }

  /**
   * The unpublished changes the markers point at, each read by `_id`. With `clean` (the relay's passes), markers
   * of published changes are removed, and markers without a change (a lost claim, or a writer that died before
   * claiming) once they are old enough.
   */
  private async pendingChanges(store: RelayStore, limit: number, clean: boolean): Promise<PendingChange[]> {
    const markers = (await store.pending.find({}).limit(limit).toArray()) as PendingMarker[];
    const byChange = new Map<string, PendingMarker[]>();
    for (const marker of markers)
      byChange.set(marker.changeId, [...(byChange.get(marker.changeId) ?? []), marker]);
    const pending: PendingChange[] = [];
    for (const [changeId, its] of byChange) {
      const change = await store.changes.findOne({ _id: changeId });
      const done = change?.published === true;
      const orphaned =
        !change && its.every((m) => Date.now() - new Date(m.at).getTime() > this.orphanAfterMs);
      if (done || orphaned) {
        if (clean) await store.pending.deleteMany({ _id: { $in: its.map((m) => m._id) } });
      } else if (change) {
        pending.push({ change, markers: its.map((m) => m._id) });
      }
    }
    return pending;
  }

  /**
   * One pass over every store: publishes the events of all pending changes found. Resolves with how many
   * changes this relay completed; rejects on the first failed publish (the rest stay pending, in order).
   */
  async runOnce(): Promise<number> {
    let completed = 0;
    for (const store of this.options.stores) {
      let more = true;
      while (more) {
        const pending = await this.pendingChanges(store, this.batchSize, true);
        const done = await this.publishBatch(store, pending);
        completed += done;
        // A full batch may hide more; stop when nothing moved (only unpublishable ones left).
        more = pending.length >= this.batchSize && done > 0;
      }
    }
    return completed;
  }

  private async publishBatch(store: RelayStore, pending: PendingChange[]): Promise<number> {
    const byAggregate = new Map<string, PendingChange[]>();
    for (const item of pending) {
      const id = item.change.aggregateId;
      byAggregate.set(id, [...(byAggregate.get(id) ?? []), item]);
    }
    // A change's predecessors were claimed before it (its writer read their head), so their markers are in this
    // read too: publishing each aggregate's pending changes in version order keeps the stream in version order.
    const groups = [...byAggregate.values()].map((items) =>
      items.sort((a, b) => a.change.version - b.change.version),
    );
    let completed = 0;
    let firstError: unknown;
    let next = 0;
    const worker = async () => {
      while (next < groups.length && firstError === undefined) {
        const group = groups[next++]!;
        try {
          const done = await this.publishAggregate(store, group);
          completed += done;
        } catch (error) {
          firstError ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, groups.length) }, worker));
    if (firstError !== undefined) throw firstError;
    return completed;
  }

  /** Publishes one aggregate's pending changes in version order; resolves with how many it completed. */
  private async publishAggregate(store: RelayStore, items: PendingChange[]): Promise<number> {
    let completed = 0;
    for (const { change, markers } of items) {
      if (!(await this.publishChange(change))) return completed;
      // A head still being written by its (live) writer: come back next pass rather than overtake it.
      if (!(await store.catchUp(change))) return completed;
      await store.changes.updateOne({ _id: change._id }, { $set: { published: true } });
      await store.pending.deleteMany({ _id: { $in: markers } });
      completed++;
    }
    return completed;
  }

  /** Publishes a change's events; false when one can never be published (logged, left pending). */
  private async publishChange(change: ChangeDocument): Promise<boolean> {
    for (const stored of change.events) {
      if (!isSubject(stored.subject)) {
        this.options.logger.error(
          { eventId: stored.id, subject: stored.subject },
          'outbox event has an unknown subject; left pending',
        );
        return false;
      }
      try {
        await this.options.publisher.publishEvent({ ...stored, occurredAt: new Date(stored.occurredAt) });
      } catch (error) {
        if (error instanceof EventSchemaError) {
          // Retrying cannot help, and later changes of this aggregate must not overtake it: leave it visible.
          this.options.logger.error(
            { err: error, eventId: stored.id },
            'outbox event fails its schema; left pending',
          );
          return false;
        }
        throw error;
      }
      this.publishedTotal?.inc();
    }
    return true;
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
