import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { mongo } from 'mongoose';
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
  /** Where the relays of the service record what they still owe: the service's database. */
  db: mongo.Db;
  logger: Logger;
  /** How long each writer tag is used, in ms (default 10000): what a recovery reads back is one such slice. */
  epochMs?: number;
  /** How often a relay records that it lives and what it still owes, in ms (default 2000). */
  heartbeatMs?: number;
  /** A relay silent for this long is taken for dead and its changes are published by another (default 15000). */
  staleAfterMs?: number;
  /** First pause after a failed publish, in ms (default 200); doubles up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  /** Longest pause, in ms (default 10000). */
  maxBackoffMs?: number;
  /** Registry for the published, failures, pending-count and oldest-age metrics. */
  metrics?: Registry;
}

/** A relay's record of itself: when it last lived, and the epochs of which it has not published everything. */
interface WriterRecord {
  _id: string;
  heartbeatAt: Date;
  open: number[];
}

/** What a writer tags a change with, and tells the relay once the change is written or given up. */
export interface OutboxClaim {
  /** `<relay>.<epoch>`: put on the change document as `writer`. */
  writer: string;
  /** The change is written: publish it. */
  written(source: OutboxSource, change: ChangeDocument): void;
  /** The change was not written (its version was lost, or the insert failed). */
  abandoned(): void;
}

/**
 * Publishes the events of committed changes, in version order per aggregate, once each, right after the writer
 * wrote them: nothing is read back and nothing is marked per change.
 *
 * What it still owes is recorded per epoch instead: every change with events carries `writer`, the relay's id
 * and the current ten-second epoch; the relay counts each epoch's changes until JetStream acknowledged them all,
 * and records the epochs not yet done, with a heartbeat, in `outbox_writers` every two seconds. A relay that
 * stops beating (its process died between a write and a publish, or NATS was down when it stopped) is taken for
 * dead by the relays of the other replicas (or of its own restart), which read back its open epochs (an equality
 * on `writer`, which FerretDB's PostgreSQL backend indexes), write the heads a dead writer did not, and publish,
 * in version order. The event id is the `Nats-Msg-Id`, so the stream keeps one copy of each event however many
 * relays publish it. This costs one write every two seconds where a `published` flag would cost one per change.
 */
export class OutboxRelay {
  readonly id = randomUUID();
  private readonly writers: mongo.Collection<WriterRecord>;
  private readonly sources = new Map<string, OutboxSource>();
  /** The tail of each aggregate's chain of publishes: its changes go out one after the other. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Changes claimed (written or on their way) and not yet published, by epoch. */
  private readonly owed = new Map<number, number>();
  /** Written changes not yet published, for the metrics. */
  private readonly pendingChanges = new Map<string, ChangeDocument>();
  private readonly epochMs: number;
  private readonly heartbeatMs: number;
  private readonly staleAfterMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private recovering: Promise<void> | undefined;
  private started = false;
  private stopping = false;
  private readonly publishedTotal: Counter | undefined;
  private readonly failuresTotal: Counter | undefined;

  constructor(private readonly options: OutboxRelayOptions) {
    this.writers = options.db.collection<WriterRecord>('outbox_writers');
    this.epochMs = options.epochMs ?? 10_000;
    this.heartbeatMs = options.heartbeatMs ?? 2000;
    this.staleAfterMs = options.staleAfterMs ?? 15_000;
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
        help: 'Failed publishes of outbox events (retried until they succeed)',
        registers,
      });
      const relay = this;
      new Gauge({
        name: 'outbox_pending_events',
        help: 'Events of committed changes not yet acknowledged by JetStream',
        registers,
        collect() {
          this.set([...relay.pendingChanges.values()].reduce((sum, change) => sum + change.events.length, 0));
        },
      });
      new Gauge({
        name: 'outbox_oldest_pending_age_seconds',
        help: 'Age of the oldest unpublished change (0 when none)',
        registers,
        collect() {
          const oldest = Math.min(...[...relay.pendingChanges.values()].map((c) => new Date(c.at).getTime()));
          this.set(Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0);
        },
      });
    }
  }

  /** Adds a store: its changes are published here, and recovered from it when a relay of the service died. */
  register(source: OutboxSource): void {
    this.sources.set(source.name, source);
  }

  /** Creates the index recoveries read by, in each store. */
  async init(): Promise<void> {
    for (const source of this.sources.values()) await source.changes.createIndex({ writer: 1 });
  }

  /** Starts beating (every heartbeat also looks for dead relays to recover). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Publishes what is still in hand, then records what could not be (NATS down): the relays of the other
   * replicas publish that once this one is taken for dead. With everything published it leaves no record.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    const patience = new AbortController();
    await Promise.race([
      this.drained(),
      sleep(this.maxBackoffMs, undefined, { signal: patience.signal }).catch(() => undefined),
    ]);
    patience.abort();
    await this.beating;
    await this.recovering;
    if (this.openEpochs().length === 0) await this.writers.deleteOne({ _id: this.id });
    else await this.record();
    this.started = false;
  }

  /** Resolves once every change handed over so far is published. */
  async drained(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  /** A writer is about to insert a change with events: the tag to put on it, and what to say afterwards. */
  claim(): OutboxClaim {
    const epoch = Math.floor(Date.now() / this.epochMs);
    this.owed.set(epoch, (this.owed.get(epoch) ?? 0) + 1);
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      const left = (this.owed.get(epoch) ?? 1) - 1;
      if (left > 0) this.owed.set(epoch, left);
      else this.owed.delete(epoch);
    };
    return {
      writer: `${this.id}.${epoch}`,
      written: (source, change) => this.publishInTurn(source, change, settle),
      abandoned: settle,
    };
  }

  /** Publishes `change` after the changes of its aggregate handed over before it, retrying until it is out. */
  private publishInTurn(source: OutboxSource, change: ChangeDocument, done: () => void): void {
    const key = `${source.name}/${change.aggregateId}`;
    this.pendingChanges.set(change._id, change);
    const next = (this.chains.get(key) ?? Promise.resolve()).then(async () => {
      for (let failures = 0; ; failures++) {
        try {
          await this.send(change);
          break;
        } catch (error) {
          this.failuresTotal?.inc();
          // Stopping: what is left is recorded as owed, and published by another relay.
          if (this.stopping) return;
          const delay = Math.min(this.initialBackoffMs * 2 ** failures, this.maxBackoffMs);
          this.options.logger.warn(
            { err: error, change: change._id, retryInMs: delay },
            'outbox publish failed',
          );
          await sleep(delay);
        }
      }
      this.pendingChanges.delete(change._id);
      done();
    });
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  /** Publishes a change's events; false when one can never be published (logged and left behind). */
  private async send(change: ChangeDocument): Promise<boolean> {
    for (const stored of change.events) {
      if (!isSubject(stored.subject)) {
        this.options.logger.error(
          { eventId: stored.id, subject: stored.subject },
          'outbox event has an unknown subject; not published',
        );
        return false;
      }
      try {
        await this.options.publisher.publishEvent({ ...stored, occurredAt: new Date(stored.occurredAt) });
      } catch (error) {
        if (error instanceof EventSchemaError) {
          this.options.logger.error(
            { err: error, eventId: stored.id },
            'outbox event fails its schema; not published',
          );
          return false;
        }
        throw error;
      }
      this.publishedTotal?.inc();
    }
    return true;
  }

  /** The epochs with changes not yet published, and the current one (changes may be on their way into it). */
  private openEpochs(): number[] {
    return [...this.owed.keys()].sort((a, b) => a - b);
  }

  private record(): Promise<unknown> {
    // While running, the next epochs too: a change may be claimed into one before the next heartbeat records it.
    const now = Math.floor(Date.now() / this.epochMs);
    const ahead = this.stopping ? [] : [now, now + 1, now + 2];
    const open = [...new Set([...this.openEpochs(), ...ahead])];
    return this.writers.replaceOne({ _id: this.id }, { heartbeatAt: new Date(), open }, { upsert: true });
  }

  /** Records this relay as alive, then recovers the relays that stopped beating. */
  private beat(): Promise<void> {
    this.beating ??= (async () => {
      try {
        await this.record();
        this.recovering ??= this.recoverDead().finally(() => {
          this.recovering = undefined;
        });
        await this.recovering;
      } catch (error) {
        this.options.logger.warn({ err: error }, 'outbox relay: heartbeat or recovery failed; retried');
      }
    })().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  /**
   * Publishes the changes dead relays owed: each of their open epochs is read back from every store and
   * published in version order per aggregate, each change's head written first if its writer did not.
   */
  async recoverDead(): Promise<void> {
    // A handful of documents, one per relay of the service: read whole.
    const dead = (await this.writers.find({}).toArray()).filter(
      (writer) => writer._id !== this.id && Date.now() - writer.heartbeatAt.getTime() > this.staleAfterMs,
    );
    for (const writer of dead) {
      for (const epoch of writer.open) {
        for (const source of this.sources.values()) {
          const owed = await source.changes.find({ writer: `${writer._id}.${epoch}` }).toArray();
          await this.republish(source, owed);
        }
      }
      await this.writers.deleteOne({ _id: writer._id, heartbeatAt: writer.heartbeatAt });
      this.options.logger.info({ relay: writer._id, epochs: writer.open.length }, 'recovered a dead relay');
    }
  }

  private async republish(source: OutboxSource, changes: ChangeDocument[]): Promise<void> {
    const byAggregate = new Map<string, ChangeDocument[]>();
    for (const change of changes) {
      byAggregate.set(change.aggregateId, [...(byAggregate.get(change.aggregateId) ?? []), change]);
    }
    await Promise.all(
      [...byAggregate.values()].map(async (its) => {
        for (const change of its.sort((a, b) => a.version - b.version)) {
          // Head first: whoever reads an event finds the owner's head at (or past) its version.
          await source.rollForward(change);
          if (!(await this.send(change))) return; // cannot ever be published: later versions wait behind it
        }
      }),
    );
  }
}
