import { MeasurementError } from './errors';
import type { BenchClient } from './http-client';
import { ratePerSecond, type Summary, summarize } from './stats';

/** Timings of one purchase, in ms from its start. */
export interface FlowSample {
  /** When the flow started (epoch ms, to compare with the services' change times). */
  startedAt: number;
  /** The ticket it bought. */
  ticketId: string;
  /** The order it placed. */
  orderId: string;
  /** POST /api/tickets answered 201. */
  listedMs: number;
  /** POST /api/orders answered 201 (the orders service waits until its replica has the ticket). */
  orderedMs: number;
  /** POST /api/payments answered 201 (the payments service waits until its replica has the order). */
  paidMs: number;
  /** GET /api/orders/:id?waitFor=complete answered `complete`: the whole flow. */
  completeMs: number;
}

/** One level of the purchase-flow test. */
export interface FlowLevelOptions {
  /** List the tickets, in turn (ticket creation is rate-limited per user: one seller would soon get 429). */
  sellers: readonly BenchClient[];
  /** One signed-up user per concurrent buyer; `concurrency` of them are used. */
  buyers: readonly BenchClient[];
  /** Concurrent buyers. */
  concurrency: number;
  /** Buyers start new flows until this many seconds have passed; flows in progress then are finished. */
  durationSeconds: number;
  /** Ticket price (major units). */
  price?: number;
  /** One purchase by `buyer` of a ticket `seller` lists (default {@link purchaseOnce}; tests pass their own). */
  purchase?: (seller: BenchClient, buyer: BenchClient) => Promise<FlowSample>;
}

/** What one level measured. */
export interface FlowLevelResult {
  /** Concurrent buyers. */
  concurrency: number;
  /** From the first start to the last flow's end, in s. */
  elapsedSeconds: number;
  /** Flows that saw `complete`. */
  completed: number;
  /** Flows that failed (first distinct messages in `errors`). */
  failed: number;
  /** Up to five distinct failure messages. */
  errors: string[];
  /** Completed flows per second. */
  rate: number;
  /** Whole-flow latency (create ticket → `complete` observed), in ms. */
  latency: Summary | null;
  /** Latency to the end of each step, in ms from the flow's start. */
  steps: { listed: Summary | null; ordered: Summary | null; paid: Summary | null };
  /** Every completed flow. */
  samples: FlowSample[];
}

/** Longest a flow waits for `complete` after paying, in ms (GET …?waitFor=complete asked again after each timeout). */
const COMPLETE_WITHIN_MS = 30_000;

/** Lists a ticket; its id. */
export async function listTicket(seller: BenchClient, price = 25, title = 'Bench concert'): Promise<string> {
  return (await seller.expect<{ id: string }>(201, 'POST', '/api/tickets', { title, price })).id;
}

/**
 * Waits for the order to be `complete` with `GET /api/orders/:id?waitFor=complete`, which answers when the
 * status changes (or after `timeout` seconds, when it is asked again): no polling.
 */
export async function waitForComplete(buyer: BenchClient, orderId: string): Promise<void> {
  const deadline = Date.now() + COMPLETE_WITHIN_MS;
  for (;;) {
    const order = await buyer.expect<{ status: string }>(
      200,
      'GET',
      `/api/orders/${orderId}?waitFor=complete&timeout=10`,
    );
    if (order.status === 'complete') return;
    if (order.status !== 'created' || Date.now() >= deadline)
      throw new MeasurementError(`order ${orderId}`, `is ${order.status}, not complete`);
  }
}

/**
 * Buys a listed ticket: orders it (the orders service answers once its replica has the ticket: no 404 to
 * retry), pays with tok_visa (likewise for the payments replica) and waits for `complete`. The times at which
 * each step answered, from `started` (performance.now()).
 */
export async function buyTicket(
  buyer: BenchClient,
  ticketId: string,
  started = performance.now(),
): Promise<{ orderId: string; orderedMs: number; paidMs: number; completeMs: number }> {
  const order = await buyer.expect<{ id: string }>(201, 'POST', '/api/orders', { ticketId });
  const orderedMs = performance.now() - started;
  await buyer.expect(201, 'POST', '/api/payments', { orderId: order.id, token: 'tok_visa' });
  const paidMs = performance.now() - started;
  await waitForComplete(buyer, order.id);
  return { orderId: order.id, orderedMs, paidMs, completeMs: performance.now() - started };
}

/** One purchase: the seller lists a ticket, the buyer {@link buyTicket}s it. */
export async function purchaseOnce(seller: BenchClient, buyer: BenchClient, price = 25): Promise<FlowSample> {
  const startedAt = Date.now();
  const started = performance.now();
  const ticketId = await listTicket(seller, price);
  const listedMs = performance.now() - started;
  return { startedAt, ticketId, listedMs, ...(await buyTicket(buyer, ticketId, started)) };
}

/**
 * Runs `concurrency` buyers, each its own user, buying one ticket after another for `durationSeconds`; a
 * failed flow is counted and the buyer goes on.
 */
export async function runFlowLevel(options: FlowLevelOptions): Promise<FlowLevelResult> {
  if (options.buyers.length < options.concurrency) {
    throw new RangeError(`${options.concurrency} buyers needed, ${options.buyers.length} given`);
  }
  if (options.sellers.length === 0) throw new RangeError('at least one seller needed');
  const purchase =
    options.purchase ??
    ((seller: BenchClient, buyer: BenchClient) => purchaseOnce(seller, buyer, options.price));
  let turn = 0;
  const samples: FlowSample[] = [];
  const errors = new Set<string>();
  let failed = 0;
  const started = performance.now();
  const deadline = started + options.durationSeconds * 1000;
  const buyerLoop = async (buyer: BenchClient) => {
    while (performance.now() < deadline) {
      const seller = options.sellers[turn++ % options.sellers.length]!;
      try {
        samples.push(await purchase(seller, buyer));
      } catch (error) {
        failed++;
        if (errors.size < 5) errors.add((error as Error).message);
      }
    }
  };
  await Promise.all(options.buyers.slice(0, options.concurrency).map(buyerLoop));
  const elapsedMs = performance.now() - started;
  return {
    concurrency: options.concurrency,
    elapsedSeconds: elapsedMs / 1000,
    completed: samples.length,
    failed,
    errors: [...errors],
    rate: ratePerSecond(samples.length, elapsedMs),
    latency: summarize(samples.map((s) => s.completeMs)),
    steps: {
      listed: summarize(samples.map((s) => s.listedMs)),
      ordered: summarize(samples.map((s) => s.orderedMs)),
      paid: summarize(samples.map((s) => s.paidMs)),
    },
    samples,
  };
}
