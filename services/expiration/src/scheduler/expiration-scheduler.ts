import { DueScheduler, inTraceOf, type Logger, type Worker } from '@ticketing/common';
import { Counter, type Registry } from 'prom-client';
import { type Expiration, type ExpirationState, type ExpirationStore, fire } from '../domain/expiration';

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

/**
 * Publishes `expiration.complete` for each order when its time comes, through common's {@link DueScheduler}
 * (jobs in Mongo, polled by due slot, a timer for the nearest). Firing is version 1 of the expiration, claimed
 * by one insert that also carries the event, so of several replicas polling the same jobs exactly one fires
 * each, and the relay publishes it.
 */
export class ExpirationScheduler implements Worker {
  /** Expirations this instance fired (wrote `expiration.complete` for) since it was built. */
  fired = 0;
  /** Due expirations another replica fired first, since this instance was built. */
  claimsLost = 0;
  private readonly due: DueScheduler<ExpirationState>;
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
    this.due = new DueScheduler({
      store: options.store,
      waiting: { status: 'scheduled' },
      dueAt: (job) => job.expiresAt.getTime(),
      fire: (job) => this.fire(job),
      pollMs: options.pollMs,
      logger: options.logger,
      name: 'expiration',
    });
  }

  start(): void {
    this.due.start();
  }

  stop(): Promise<void> {
    return this.due.stop();
  }

  /** A job was just scheduled here: fire it now if it is due, else make sure a timer wakes for it. */
  scheduled(job: Expiration): void {
    this.due.scheduled(job);
  }

  private async fire(job: Expiration): Promise<void> {
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
  }
}
