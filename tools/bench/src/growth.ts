import { MeasurementError } from './errors';
import { buyTicket, listTicket } from './flow';
import type { BenchClient } from './http-client';
import { fetchMetrics } from './metrics';
import { ratePerSecond } from './stats';

/**
 * Tickets one seller lists while seeding: under the 60 per user per minute the contract allows for ticket
 * creation whatever the seeding's pace, so seeding N tickets signs up N / 50 sellers.
 */
export const TICKETS_PER_SELLER = 50;

/** Sellers needed to seed `tickets` tickets. */
export function sellersForSeeding(tickets: number): number {
  return Math.ceil(tickets / TICKETS_PER_SELLER);
}

/** What a seeding step did. */
export interface SeedResult {
  /** Successful creations (ticket ids, or purchases' order ids). */
  ids: string[];
  /** Attempts that failed. */
  failed: number;
  /** Up to five distinct failure messages. */
  errors: string[];
  /** Wall time, in s. */
  seconds: number;
  /** Successes per second. */
  rate: number;
}

/**
 * Runs tasks 0…count-1 on `parallel` workers, each taking the next task when done with its last; a failed task
 * is counted and the others go on.
 */
async function runTasks(
  count: number,
  parallel: number,
  task: (index: number, worker: number) => Promise<string>,
): Promise<SeedResult> {
  const ids: string[] = [];
  const errors = new Set<string>();
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const work = async (worker: number) => {
    for (let index = next++; index < count; index = next++) {
      try {
        ids.push(await task(index, worker));
      } catch (error) {
        failed++;
        if (errors.size < 5) errors.add((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, (_, worker) => work(worker)));
  const elapsedMs = performance.now() - started;
  if (count > 0 && ids.length === 0)
    throw new MeasurementError('seeding', `every attempt failed: ${[...errors].join('; ')}`);
  return {
    ids,
    failed,
    errors: [...errors],
    seconds: elapsedMs / 1000,
    rate: ratePerSecond(ids.length, elapsedMs),
  };
}

/**
 * Lists `count` tickets through the API, `parallel` requests at a time, ticket i by seller i mod n (so that
 * each seller's creations are spread over the whole seeding).
 */
export async function seedTickets(
  sellers: readonly BenchClient[],
  count: number,
  parallel = 16,
): Promise<SeedResult> {
  if (sellers.length < sellersForSeeding(count))
    throw new RangeError(
      `${sellersForSeeding(count)} sellers needed for ${count} tickets, ${sellers.length} given`,
    );
  return runTasks(count, parallel, (i) => listTicket(sellers[i % sellers.length]!, 20, `Seeded ${i}`));
}

/**
 * A history of completed purchases: the buyers, one purchase at a time each, buy `count` of the given tickets
 * (listed before), ordering, paying and waiting for `complete` as a flow does.
 */
export async function seedPurchases(
  buyers: readonly BenchClient[],
  ticketIds: readonly string[],
  count: number,
): Promise<SeedResult> {
  if (ticketIds.length < count) throw new RangeError(`${count} tickets needed, ${ticketIds.length} given`);
  // One worker per buyer, so that each has one unpaid order at a time (the live-order limit is 5).
  return runTasks(
    count,
    buyers.length,
    async (i, worker) => (await buyTicket(buyers[worker]!, ticketIds[i]!)).orderId,
  );
}

/** `events_handled_total` of one subject with outcome `acked`, at a service's /metrics. */
export async function handledCount(serviceUrl: string, subject: string): Promise<number> {
  const samples = await fetchMetrics(serviceUrl);
  return samples
    .filter(
      (s) =>
        s.name === 'events_handled_total' && s.labels.subject === subject && s.labels.outcome === 'acked',
    )
    .reduce((total, s) => total + s.value, 0);
}

/**
 * Waits until a service has acknowledged `count` events of `subject` (as `handledCount` reads) or `waitMs` has
 * passed; the seconds waited. Cheaper than looking for thousands of replica changes in the database.
 */
export async function waitForHandled(
  serviceUrl: string,
  subject: string,
  count: number,
  waitMs: number,
): Promise<{ seconds: number; handled: number }> {
  const started = performance.now();
  for (;;) {
    const handled = await handledCount(serviceUrl, subject);
    if (handled >= count || performance.now() - started >= waitMs)
      return { seconds: (performance.now() - started) / 1000, handled };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
