import { ContentionError, inTraceOf, type Logger, type Worker } from '@ticketing/common';
import { Counter, type Registry } from 'prom-client';
import { type Expiration, type ExpirationStore, fire, SLOT_MS, slotOf } from '../domain/expiration';

export interface ExpirationSchedulerOptions {
  store: ExpirationStore;
  logger: Logger;
  /** Poll interval in ms: catches jobs other replicas scheduled, and retries failures. */
  pollMs: number;
  /** The service's registry: `expirations_fired_total` and `expiration_claims_lost_total` are counted there. */
  metrics?: Registry;
}

export const EXPIRATION_METRICS = {
  fired: 'expirations_fired_total',
  claimsLost: 'expiration_claims_lost_total',
} as const;

// setTimeout takes a signed 32-bit delay; longer waits are re-armed by the poll anyway.
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Slots looked at again once a minute: a job a replica scheduled late and did not fire before dying. */
const LOOKBACK_SLOTS = 30;

/**
 * Publishes `expiration.complete` for each order when its time comes. Firing is version 1 of the expiration,
 * claimed by one insert that also carries the event, so of several replicas polling the same jobs exactly one
 * fires each, and the relay publishes it. Jobs live in Mongo: at start, every scheduled job is read once (what
 * came due while the service was down fires then); afterwards each poll reads only the current 10-second slot
 * (an equality FerretDB's PostgreSQL backend can index, where a range over `expiresAt` would read every job),
 * and a timer set for the nearest job this instance knows fires short reservation windows on time.
 */
export class ExpirationScheduler implements Worker {
  private pollTimer: NodeJS.Timeout | undefined;
  private nextTimer: NodeJS.Timeout | undefined;
  private nextAt = Number.POSITIVE_INFINITY;
  private pass: Promise<void> | undefined;
  private again = false;
  private started = false;
  private caughtUp = false;
  private lastLookback = 0;
  /** Expirations this instance fired (wrote `expiration.complete` for) since it was built. */
  fired = 0;
  /** Due expirations another replica fired first, since this instance was built. */
  claimsLost = 0;
  private readonly firedCounter: Counter | undefined;
  private readonly claimsLostCounter: Counter | undefined;

  constructor(private readonly options: ExpirationSchedulerOptions) {
    if (options.metrics) {
      const registers = [options.metrics];
      this.firedCounter = new Counter({
        name: EXPIRATION_METRICS.fired,
        help: 'Expirations this instance fired (wrote expiration.complete for)',
        registers,
      });
      // Normal with several replicas racing for the same due job; with one replica it should stay near 0.
      this.claimsLostCounter = new Counter({
        name: EXPIRATION_METRICS.claimsLost,
        help: 'Due expirations another writer fired first',
        registers,
      });
    }
  }

  /** Starts polling and runs a first pass over every scheduled job. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.pollTimer = setInterval(() => this.kick(), this.options.pollMs);
    this.pollTimer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.started = false;
    clearInterval(this.pollTimer);
    clearTimeout(this.nextTimer);
    this.nextTimer = undefined;
    this.nextAt = Number.POSITIVE_INFINITY;
    await this.pass;
  }

  /** A job was just scheduled here: fire it now if it is due, else make sure a timer wakes for it. */
  scheduled(job: Expiration): void {
    if (job.expiresAt.getTime() <= Date.now()) void this.fireSafely(job);
    else this.wakeAt(job.expiresAt.getTime());
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

  /** One pass: fires every due job it looks at; resolves with how many this instance fired. */
  async runOnce(): Promise<number> {
    const now = Date.now();
    let jobs: Expiration[];
    if (!this.caughtUp) {
      jobs = await this.options.store.find({ status: 'scheduled' });
    } else {
      const slots = [slotOf(now)];
      if (now - this.lastLookback > 60_000) {
        this.lastLookback = now;
        for (let slot = slotOf(now) - LOOKBACK_SLOTS; slot < slotOf(now); slot++) slots.push(slot);
      }
      jobs = (
        await Promise.all(slots.map((dueSlot) => this.options.store.find({ status: 'scheduled', dueSlot })))
      ).flat();
    }
    let fired = 0;
    for (const job of jobs) {
      if (job.expiresAt.getTime() <= now) {
        if (await this.fire(job)) fired++;
      } else {
        this.wakeAt(job.expiresAt.getTime());
      }
    }
    this.caughtUp = true;
    // The next slot begins with the next poll at the latest; wake at its start so its jobs are not late.
    this.wakeAt((slotOf(now) + 1) * SLOT_MS);
    return fired;
  }

  private async fire(job: Expiration): Promise<boolean> {
    const { changed } = await inTraceOf(job.traceparent, () =>
      this.options.store.decide(job._id, (current) => (current ? fire(current, new Date()) : undefined)),
    );
    if (changed) {
      this.fired++;
      this.firedCounter?.inc();
    } else {
      this.claimsLost++;
      this.claimsLostCounter?.inc();
    }
    return changed;
  }

  private async fireSafely(job: Expiration): Promise<void> {
    try {
      await this.fire(job);
    } catch (error) {
      // The poll looks at the job again.
      this.options.logger.warn({ err: error, orderId: job.orderId }, 'could not fire an expiration yet');
    }
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
        const level = error instanceof ContentionError ? 'info' : 'warn';
        this.options.logger[level]({ err: error }, 'expiration pass failed; the next poll retries');
        return;
      }
    } while (this.again && this.started);
  }
}
