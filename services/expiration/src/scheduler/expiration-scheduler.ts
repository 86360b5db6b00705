import {
  type AggregateStore,
  type Head,
  type Logger,
  newEvent,
  VersionConflictError,
  type Worker,
} from '@ticketing/common';
import { Counter, type Registry } from 'prom-client';
import type { ExpirationState } from '../models/expiration';

/** Options of {@link ExpirationScheduler}. */
export interface ExpirationSchedulerOptions {
  /** The expirations. */
  store: AggregateStore<ExpirationState>;
  /** Logger for failed passes. */
  logger: Logger;
  /** Poll interval in ms: catches jobs other replicas scheduled, and retries after failures. */
  pollMs: number;
  /** Due jobs read per query (default 100). */
  batchSize?: number;
  /** The service's registry: `expirations_fired_total` and `expiration_claims_lost_total` are counted there. */
  metrics?: Registry;
}

/** Counter names on the service's registry. */
export const EXPIRATION_METRICS = {
  fired: 'expirations_fired_total',
  claimsLost: 'expiration_claims_lost_total',
} as const;

/** The named counter on `registry`, created on first use (one per registry, whatever builds it). */
function counterOn(registry: Registry, name: string, help: string): Counter {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter;
  return new Counter({ name, help, registers: [registry] });
}

// setTimeout takes a signed 32-bit delay; longer waits are re-armed by the poll anyway.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Publishes `expiration.complete` for each order when its time comes. Firing is version 1 of the expiration,
 * claimed by one insert that also carries the event (AggregateStore), so of several replicas polling the same
 * jobs exactly one fires each, and the outbox relay publishes it. Jobs live in Mongo: after a restart, the first
 * pass fires everything that came due while the service was down. Between polls, a timer set for the nearest
 * job makes short reservation windows expire on time.
 */
export class ExpirationScheduler implements Worker {
  private readonly batchSize: number;
  private pollTimer: NodeJS.Timeout | undefined;
  private nextTimer: NodeJS.Timeout | undefined;
  private nextAt = Number.POSITIVE_INFINITY;
  private pass: Promise<void> | undefined;
  private again = false;
  private started = false;
  /** Expirations this instance fired (wrote `expiration.complete` for) since it was built. */
  fired = 0;
  /** Due expirations another replica fired first, since this instance was built. */
  claimsLost = 0;
  private readonly firedCounter: Counter | undefined;
  private readonly claimsLostCounter: Counter | undefined;

  constructor(private readonly options: ExpirationSchedulerOptions) {
    this.batchSize = options.batchSize ?? 100;
    if (options.metrics) {
      this.firedCounter = counterOn(
        options.metrics,
        EXPIRATION_METRICS.fired,
        'Expirations this instance fired (wrote expiration.complete for)',
      );
      // Normal with several replicas; a steady rise with one replica means heads are not being written.
      this.claimsLostCounter = counterOn(
        options.metrics,
        EXPIRATION_METRICS.claimsLost,
        'Due expirations another writer claimed first (version conflict on firing)',
      );
    }
  }

  /** Starts polling and runs a first pass at once (jobs that came due while no scheduler ran fire now). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.pollTimer = setInterval(() => this.kick(), this.options.pollMs);
    this.pollTimer.unref();
    this.kick();
  }

  /** Stops the timers and waits for the pass in progress. */
  async stop(): Promise<void> {
    this.started = false;
    clearInterval(this.pollTimer);
    clearTimeout(this.nextTimer);
    this.nextTimer = undefined;
    this.nextAt = Number.POSITIVE_INFINITY;
    await this.pass;
  }

  /** Tells the scheduler a job for `expiresAt` was scheduled: it sets a timer if that is the nearest. */
  scheduled(expiresAt: Date): void {
    if (expiresAt.getTime() <= Date.now()) this.kick();
    else this.wakeAt(expiresAt.getTime());
  }

  /** Runs a pass soon; cheap and coalescing. */
  kick(): void {
    if (!this.started) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = this.loop().finally(() => {
      this.pass = undefined;
    });
  }

  /** One pass: fires every due job; resolves with how many this instance fired. */
  async runOnce(): Promise<number> {
    let fired = 0;
    let horizon: Date;
    for (;;) {
      horizon = new Date();
      const due = await this.options.store.model
        .find({ status: 'scheduled', expiresAt: { $lte: horizon } })
        .sort({ expiresAt: 1 })
        .limit(this.batchSize)
        .lean<Array<Head<ExpirationState>>>();
      for (const job of due) if (await this.fire(job)) fired++;
      if (due.length < this.batchSize) break;
    }
    await this.armForNextJob(horizon);
    return fired;
  }

  private async fire(job: Head<ExpirationState>): Promise<boolean> {
    try {
      await this.options.store.update(job, { status: 'fired', firedAt: new Date() }, [
        newEvent('expiration.complete', { orderId: job.orderId, version: 0 }),
      ]);
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      // Another replica fired it; if that replica died before writing the head, roll it forward when safe.
      this.claimsLost++;
      this.claimsLostCounter?.inc();
      await this.options.store.repairHead(String(job._id), job.version + 1);
      return false;
    }
    this.fired++;
    this.firedCounter?.inc();
    return true;
  }

  /** Sets a timer for the nearest job after `horizon`, the instant the last due-query looked up to. */
  private async armForNextJob(horizon: Date): Promise<void> {
    // Only jobs after the horizon: a due job that could not fire is retried by the poll, not in a tight timer
    // loop. Not "after now": a job falling due between the due-query and this one (a timer fires a millisecond
    // early by the wall clock) would then be in neither, and wait for the next poll.
    const next = await this.options.store.model
      .findOne({ status: 'scheduled', expiresAt: { $gt: horizon } })
      .sort({ expiresAt: 1 })
      .lean<Head<ExpirationState>>();
    if (next) this.wakeAt(new Date(next.expiresAt).getTime());
  }

  private wakeAt(at: number): void {
    if (!this.started || at >= this.nextAt) return;
    clearTimeout(this.nextTimer);
    this.nextAt = at;
    this.nextTimer = setTimeout(
      () => {
        this.nextTimer = undefined;
        this.nextAt = Number.POSITIVE_INFINITY;
        this.kick();
      },
      Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS),
    );
    this.nextTimer.unref();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.runOnce();
      } catch (error) {
        this.options.logger.warn({ err: error }, 'expiration pass failed; the next poll retries');
        return;
      }
    } while (this.again && this.started);
  }
}
