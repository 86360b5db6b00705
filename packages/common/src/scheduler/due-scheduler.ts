import type { Logger } from '../logging';
import type { Worker } from '../service/run';
import type { AggregateStore, Versioned } from '../store/aggregate-store';
import { ContentionError } from '../store/errors';

/** The width of a due slot: jobs are looked up by the slot their due time falls in. */
export const DUE_SLOT_MS = 10_000;

/** The slot a due time falls in: what a job stores as `dueSlot`, an equality FerretDB can index. */
export function dueSlotOf(at: number | Date): number {
  return Math.floor(new Date(at).getTime() / DUE_SLOT_MS);
}

/** A job's state as the scheduler finds it: its due slot, kept by the service beside its due time. */
export interface DueJob {
  dueSlot: number;
}

/** Options of {@link DueScheduler}. */
export interface DueSchedulerOptions<S extends DueJob> {
  /** Where the jobs are: one aggregate each, with an index on `dueSlot` (and the fields of `waiting`). */
  store: AggregateStore<S>;
  /** What a job still waiting for its time looks like, e.g. `{status: 'scheduled'}`. */
  waiting: Parameters<AggregateStore<S>['find']>[0];
  /** When the job is due, in ms since the epoch. */
  dueAt(job: Versioned<S>): number;
  /**
   * Does the job's work once it is due. Several replicas may call it for one job at once: the work claims what
   * it changes (a `decide` on the job, say), so that one of them does it.
   */
  fire(job: Versioned<S>): Promise<unknown>;
  /** Poll interval in ms: catches jobs other replicas scheduled, and retries failures. */
  pollMs: number;
  logger: Logger;
  /** What the jobs are, for logs. */
  name: string;
}

// setTimeout takes a signed 32-bit delay; longer waits are re-armed by the poll anyway.
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Slots looked at again once a minute: a job a replica scheduled late and did not fire before dying. */
const LOOKBACK_SLOTS = 30;

/**
 * Calls `fire` for each job of a store when its time comes, on every replica of a service. Jobs live in Mongo:
 * at start, every waiting job is read once (what came due while the service was down fires then); afterwards
 * each poll reads only the current 10-second slot (an equality FerretDB's PostgreSQL backend can index, where a
 * range over a date would read every job), the last half hour once a minute, and a timer set for the nearest job
 * this instance knows fires short waits on time.
 */
export class DueScheduler<S extends DueJob> implements Worker {
  private pollTimer: NodeJS.Timeout | undefined;
  private nextTimer: NodeJS.Timeout | undefined;
  private nextAt = Number.POSITIVE_INFINITY;
  private pass: Promise<void> | undefined;
  private again = false;
  private started = false;
  private caughtUp = false;
  private lastLookback = 0;
  private readonly firing = new Set<Promise<void>>();

  constructor(private readonly options: DueSchedulerOptions<S>) {}

  /** Starts polling and runs a first pass over every waiting job. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.pollTimer = setInterval(() => this.kick(), this.options.pollMs);
    this.pollTimer.unref();
    this.kick();
  }

  /** Stops polling and waits for the pass and the jobs in progress. */
  async stop(): Promise<void> {
    this.started = false;
    clearInterval(this.pollTimer);
    clearTimeout(this.nextTimer);
    this.nextTimer = undefined;
    this.nextAt = Number.POSITIVE_INFINITY;
    await this.pass;
    await Promise.all([...this.firing]);
  }

  /** A job was just scheduled here: fire it now if it is due, else make sure a timer wakes for it. */
  scheduled(job: Versioned<S>): void {
    const at = this.options.dueAt(job);
    if (at <= Date.now()) this.fireSafely(job);
    else this.wakeAt(at);
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

  /** One pass: fires every due job it looks at; resolves with how many it fired. */
  async runOnce(): Promise<number> {
    const { store, waiting, dueAt } = this.options;
    const now = Date.now();
    let jobs: Array<Versioned<S>>;
    if (!this.caughtUp) {
      jobs = await store.find(waiting);
    } else {
      const slots = [dueSlotOf(now)];
      if (now - this.lastLookback > 60_000) {
        this.lastLookback = now;
        for (let slot = dueSlotOf(now) - LOOKBACK_SLOTS; slot < dueSlotOf(now); slot++) slots.push(slot);
      }
      jobs = (await Promise.all(slots.map((dueSlot) => store.find({ ...waiting, dueSlot })))).flat();
    }
    let fired = 0;
    for (const job of jobs) {
      if (dueAt(job) <= now) {
        await this.fireLogged(job);
        fired++;
      } else {
        this.wakeAt(dueAt(job));
      }
    }
    this.caughtUp = true;
    // The next slot begins with the next poll at the latest; wake at its start so its jobs are not late.
    this.wakeAt((dueSlotOf(now) + 1) * DUE_SLOT_MS);
    return fired;
  }

  private async fireLogged(job: Versioned<S>): Promise<void> {
    try {
      await this.options.fire(job);
    } catch (error) {
      // The next pass looks at the job again.
      const level = error instanceof ContentionError ? 'info' : 'warn';
      this.options.logger[level](
        { err: error, job: job._id },
        `${this.options.name}: could not fire a job yet`,
      );
    }
  }

  private fireSafely(job: Versioned<S>): void {
    const firing = this.fireLogged(job).finally(() => this.firing.delete(firing));
    this.firing.add(firing);
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
        this.options.logger.warn({ err: error }, `${this.options.name}: pass failed; the next poll retries`);
        return;
      }
    } while (this.again && this.started);
  }
}
