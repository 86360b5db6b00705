import { Counter, Gauge, type Registry } from 'prom-client';
import { isSubject } from '../events/catalog';
import { EventSchemaError } from '../events/errors';
import type { Logger } from '../logging';
import type { AggregateStore, ChangeDocument } from '../store/aggregate-store';
import type { OutboxEvent } from './event';

/** Anything that publishes an outbox event and resolves once JetStream acknowledged it (the {@link Bus}). */
export interface EventPublisher {
  /** Publishes and waits for the PubAck. */
  publishEvent(event: OutboxEvent): Promise<unknown>;
}

/** The part of an {@link AggregateStore} the relay uses. */
export type OutboxSource = Pick<AggregateStore<object>, 'name' | 'changes' | 'rollForward'>;

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** Where to publish. */
  publisher: EventPublisher;
  /** Logger for failures and back-off. */
  logger: Logger;
  /** How often unpublished changes are looked for in the database, in ms (default 1000). */
  intervalMs?: number;
  /**
   * How old an unpublished change must be before a recovery pass takes it, in ms (default 2000): younger ones
   * belong to a live writer, whose own relay publishes them within milliseconds.
   */
  graceMs?: number;
  /** First back-off after a failed recovery pass, in ms (default 200); doubles up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  /** Longest back-off, in ms (default 10000). */
  maxBackoffMs?: number;
  /** Registry for the published, failures, pending-count and oldest-age metrics. */
  metrics?: Registry;
}

type Source = OutboxSource;

/**
 * Publishes the events of committed changes, in version order per aggregate, and marks a change published once
 * JetStream acknowledged all its events.
 *
 * The store hands every change with events to {@link publish} right after writing it, so the events leave
 * within a millisecond or so and nothing is read back for them; the `published` flags of a burst are written in
 * one request. What this process could not publish (NATS down, a crash between the write and the publish, a
 * writer in another process that died) is still `published: false` in the database: a recovery pass on a timer
 * finds those, writes their heads if they are behind, and publishes them in version order. Several relays may
 * run at once: the event id is the `Nats-Msg-Id`, so the stream stores each event once.
 */
export class OutboxRelay {
  private readonly sources = new Map<string, Source>();
  /** The tail of each aggregate's chain of live publishes: its changes go out one after the other. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Changes handed over and not yet settled, by change id. */
  private readonly inFlight = new Map<string, ChangeDocument>();
  /** Aggregates whose live chain failed: the recovery pass publishes their changes, in order, until it succeeds. */
  private readonly broken = new Set<string>();
  private readonly toFlag = new Map<Source, string[]>();
  private flushing: Promise<void> | undefined;
  private recovering: Promise<void> | undefined;
  private readonly intervalMs: number;
  private readonly graceMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private failures = 0;
  private notBefore = 0;
  private recoveredPending: ChangeDocument[] = [];
  private readonly publishedTotal: Counter | undefined;
  private readonly failuresTotal: Counter | undefined;

  constructor(private readonly options: OutboxRelayOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.graceMs = options.graceMs ?? 2000;
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
        help: 'Failed publishes of outbox events (the change stays pending and is retried)',
        registers,
      });
      const relay = this;
      new Gauge({
        name: 'outbox_pending_events',
        help: 'Events of committed changes not yet acknowledged by JetStream',
        registers,
        collect() {
          this.set(relay.pending().reduce((sum, change) => sum + change.events.length, 0));
        },
      });
      new Gauge({
        name: 'outbox_oldest_pending_age_seconds',
        help: 'Age of the oldest unpublished change (0 when none)',
        registers,
        collect() {
          const oldest = Math.min(...relay.pending().map((change) => new Date(change.at).getTime()));
          this.set(Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0);
        },
      });
    }
  }

  /** Adds a store whose unpublished changes the recovery passes look for (every store of the service). */
  register(source: Source): void {
    this.sources.set(source.name, source);
  }

  /** Starts the recovery timer and a first pass (changes a previous run left unpublished go out now). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.timer = setInterval(() => void this.recover(), this.intervalMs);
    this.timer.unref();
    void this.recover();
  }

  /** Stops the timer and waits for the publishes in progress; what is left stays pending for the next relay. */
  async stop(): Promise<void> {
    this.started = false;
    clearInterval(this.timer);
    await this.recovering;
    await this.drained();
  }

  /** Resolves once every change handed over so far is published and flagged (or left to recovery). */
  async drained(): Promise<void> {
    while (this.chains.size > 0 || this.flushing) {
      await Promise.all([...this.chains.values()]);
      await this.flushing;
    }
  }

  /** Takes a change just written by `source` and publishes its events now (after its predecessors). */
  publish(source: Source, change: ChangeDocument): void {
    if (!this.started) return; // stopping: the next relay's recovery publishes it
    const key = `${source.name}/${change.aggregateId}`;
    if (this.broken.has(key)) return; // an earlier change failed: recovery keeps the order
    this.inFlight.set(change._id, change);
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.publishLive(source, key, change));
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  /**
   * One recovery pass: publishes, in version order per aggregate, every unpublished change older than the grace
   * period (or of an aggregate whose live publish failed), after writing its head if it is behind.
   */
  recover(): Promise<void> {
    if (this.recovering || Date.now() < this.notBefore) return this.recovering ?? Promise.resolve();
    this.recovering = this.recoverPass().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  private async recoverPass(): Promise<void> {
    const found: ChangeDocument[] = [];
    try {
      for (const source of this.sources.values()) {
        const pending = await source.changes.find({ published: false }).toArray();
        found.push(...pending);
        const due = pending.filter(
          (change) =>
            !this.inFlight.has(change._id) &&
            (this.broken.has(`${source.name}/${change.aggregateId}`) ||
              Date.now() - new Date(change.at).getTime() >= this.graceMs),
        );
        await this.publishInOrder(source, due);
      }
      while (this.flushing) await this.flushing;
      this.failures = 0;
      this.notBefore = 0;
    } catch (error) {
      this.failures++;
      const delay = Math.min(this.initialBackoffMs * 2 ** (this.failures - 1), this.maxBackoffMs);
      this.notBefore = Date.now() + delay;
      this.options.logger.warn(
        { err: error, retryInMs: delay, failures: this.failures },
        'outbox relay: publish failed, backing off',
      );
    } finally {
      this.recoveredPending = found;
    }
  }

  private async publishInOrder(source: Source, changes: ChangeDocument[]): Promise<void> {
    const byAggregate = new Map<string, ChangeDocument[]>();
    for (const change of changes) {
      byAggregate.set(change.aggregateId, [...(byAggregate.get(change.aggregateId) ?? []), change]);
    }
    const results = await Promise.allSettled(
      [...byAggregate].map(async ([aggregateId, its]) => {
        for (const change of its.sort((a, b) => a.version - b.version)) {
          // Head first: whoever reads an event finds the owner's head at (or past) its version.
          await source.rollForward(change);
          if (!(await this.send(change))) return; // cannot ever be published: later versions wait behind it
          this.flag(source, change._id);
        }
        this.broken.delete(`${source.name}/${aggregateId}`);
      }),
    );
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  private async publishLive(source: Source, key: string, change: ChangeDocument): Promise<void> {
    try {
      if (this.broken.has(key)) return;
      if (await this.send(change)) this.flag(source, change._id);
      else this.broken.add(key);
    } catch (error) {
      this.broken.add(key);
      this.options.logger.warn({ err: error, change: change._id }, 'outbox relay: publish failed; retried');
    } finally {
      this.inFlight.delete(change._id);
    }
  }

  /** Publishes a change's events; false when one can never be published (logged, left pending in order). */
  private async send(change: ChangeDocument): Promise<boolean> {
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
          this.options.logger.error(
            { err: error, eventId: stored.id },
            'outbox event fails its schema; left pending',
          );
          return false;
        }
        this.failuresTotal?.inc();
        throw error;
      }
      this.publishedTotal?.inc();
    }
    return true;
  }

  /** Marks `id` published with the next flush: one bulk write for everything acknowledged meanwhile. */
  private flag(source: Source, id: string): void {
    const ids = this.toFlag.get(source) ?? [];
    ids.push(id);
    this.toFlag.set(source, ids);
    this.flushSoon();
  }

  private flushSoon(): void {
    if (this.flushing) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (this.unflagged()) this.flushSoon();
    });
  }

  private async flush(): Promise<void> {
    while (this.unflagged()) {
      for (const [source, ids] of this.toFlag) {
        if (ids.length === 0) continue;
        const batch = ids.splice(0, ids.length);
        try {
          await source.changes.bulkWrite(
            batch.map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { published: true } } } })),
            { ordered: false },
          );
        } catch (error) {
          // Left `published: false`, they are published again by a recovery pass: the stream keeps one copy.
          this.options.logger.warn(
            { err: error, changes: batch.length },
            'outbox relay: could not flag changes',
          );
        }
      }
    }
  }

  private unflagged(): boolean {
    for (const ids of this.toFlag.values()) if (ids.length > 0) return true;
    return false;
  }

  private pending(): ChangeDocument[] {
    const seen = new Map(this.recoveredPending.map((change) => [change._id, change]));
    for (const [id, change] of this.inFlight) seen.set(id, change);
    return [...seen.values()];
  }
}
