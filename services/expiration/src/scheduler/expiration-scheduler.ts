import {
  type AggregateStore,
  type Head,
  type Logger,
  newEvent,
  VersionConflictError,
  type Worker,
} from '@ticketing/common';
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

  constructor(private readonly options: ExpirationSchedulerOptions) {
    this.batchSize = options.batchSize ?? 100;
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
    for (;;) {
      const due = await this.options.store.model
        .find({ status: 'scheduled', expiresAt: { $lte: new Date() } })
        .sort({ expiresAt: 1 })
        .limit(this.batchSize)
        .lean<Array<Head<ExpirationState>>>();
      for (const job of due) if (await this.fire(job)) fired++;
      if (due.length < this.batchSize) break;
    }
    await this.armForNextJob();
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
      await this.options.store.repairHead(String(job._id), job.version + 1);
      return false;
    }
    this.fired++;
    return true;
  }

  private async armForNextJob(): Promise<void> {
    // Only future jobs: a due job that could not fire now is retried by the poll, not in a tight timer loop.
    const next = await this.options.store.model
      .findOne({ status: 'scheduled', expiresAt: { $gt: new Date() } })
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
