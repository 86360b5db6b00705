import {
  type ApiClient,
  listTicket,
  orderTicket,
  payOrder,
  waitForOrderStatus,
} from '@ticketing/stack/client';
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
  /** POST /api/orders answered 201 (after the orders replica had the ticket). */
  orderedMs: number;
  /** POST /api/payments answered 201 (after the payments replica had the order). */
  paidMs: number;
  /** GET /api/orders/:id showed `complete`: the whole flow. */
  completeMs: number;
}

/** One level of the purchase-flow test. */
export interface FlowLevelOptions {
  /** Lists the tickets. */
  seller: ApiClient;
  /** One signed-up user per concurrent buyer; `concurrency` of them are used. */
  buyers: readonly ApiClient[];
  /** Concurrent buyers. */
  concurrency: number;
  /** Buyers start new flows until this many seconds have passed; flows in progress then are finished. */
  durationSeconds: number;
  /** Pause between polls while waiting for a replica or for `complete`, in ms. */
  pollIntervalMs: number;
  /** Ticket price (major units). */
  price?: number;
  /** One purchase by `buyer` (default {@link purchaseOnce}; tests pass their own). */
  purchase?: (buyer: ApiClient) => Promise<FlowSample>;
}

/** What one level measured. */
export interface FlowLevelResult {
  /** Concurrent buyers. */
  concurrency: number;
  /** The pause between polls used, in ms. */
  pollIntervalMs: number;
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

/** One purchase: the seller lists a ticket, the buyer orders it, pays with tok_visa and polls until `complete`. */
export async function purchaseOnce(
  seller: ApiClient,
  buyer: ApiClient,
  pollIntervalMs: number,
  price = 25,
): Promise<FlowSample> {
  const poll = { intervalMs: pollIntervalMs };
  const startedAt = Date.now();
  const started = performance.now();
  const ticket = await listTicket(seller, price, 'Bench concert');
  const listedMs = performance.now() - started;
  const order = await orderTicket(buyer, ticket.id, poll);
  const orderedMs = performance.now() - started;
  const payment = await payOrder(buyer, order.id, 'tok_visa', poll);
  if (payment.status !== 201) throw new Error(`payment: ${payment.status} ${JSON.stringify(payment.body)}`);
  const paidMs = performance.now() - started;
  await waitForOrderStatus(buyer, order.id, 'complete', 20_000, pollIntervalMs);
  const completeMs = performance.now() - started;
  return { startedAt, ticketId: ticket.id, orderId: order.id, listedMs, orderedMs, paidMs, completeMs };
}

/**
 * Runs `concurrency` buyers, each its own user, buying one ticket after another for `durationSeconds`; a
 * failed flow is counted and the buyer goes on.
 */
export async function runFlowLevel(options: FlowLevelOptions): Promise<FlowLevelResult> {
  if (options.buyers.length < options.concurrency) {
    throw new RangeError(`${options.concurrency} buyers needed, ${options.buyers.length} given`);
  }
  const purchase =
    options.purchase ??
    ((buyer: ApiClient) => purchaseOnce(options.seller, buyer, options.pollIntervalMs, options.price));
  const samples: FlowSample[] = [];
  const errors = new Set<string>();
  let failed = 0;
  const started = performance.now();
  const deadline = started + options.durationSeconds * 1000;
  const buyerLoop = async (buyer: ApiClient) => {
    while (performance.now() < deadline) {
      try {
        samples.push(await purchase(buyer));
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
    pollIntervalMs: options.pollIntervalMs,
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
