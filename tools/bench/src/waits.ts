import type { FlowSample } from './flow';

/** When the services wrote what each step of one flow waits for (epoch ms, from the change documents). */
export interface FlowMilestones {
  /** The orders service applied the ticket's version 0 (ticket.created reached orders). */
  ticketInOrders?: number;
  /** The payments service applied the order's version 0 (order.created reached payments). */
  orderInPayments?: number;
  /** The orders service wrote the order's `complete` (payment.created reached orders). */
  completeWritten?: number;
}

/** A step of the purchase flow. */
export type FlowStep = 'list' | 'order' | 'pay' | 'complete';

/** What each step waits for in another service (the list step waits for none). */
export const STEP_WAITS_ON: Record<FlowStep, string | null> = {
  list: null,
  order: 'ticket.created: tickets → orders',
  pay: 'order.created: orders → payments',
  complete: 'payment.created: payments → orders',
};

/** One step over the flows of a level. */
export interface StepWait {
  step: FlowStep;
  /** What it waits for, or null. */
  waitsOn: string | null;
  /** Flows counted (those whose milestone was found; every flow for the list step). */
  flows: number;
  /** Mean time of the step (from the end of the previous one to its answer), in ms. */
  meanMs: number;
  /** Mean time of it spent before the other service had done its part, in ms. */
  waitingMs: number;
  /** waitingMs / meanMs: the share of the step's time that waits on another service. */
  share: number | null;
}

/**
 * The time of step [start, end] spent waiting for a milestone at `ready`: from the start to `ready`, within the
 * step (a milestone before the step started costs it nothing; one after it ended cannot have been awaited).
 */
export function waitingWithin(start: number, end: number, ready: number): number {
  return Math.max(0, Math.min(ready, end) - start);
}

/**
 * Each step's time and the share of it spent waiting on another service: the order step from the listing's
 * answer until orders had the ticket, the pay step from the order's answer until payments had the order, the
 * completion from the payment's answer until orders wrote `complete`. The client's clock (Date.now at the
 * flow's start, plus the step times) and the change documents' `at` are the same machine's clock.
 */
export function stepWaits(
  samples: readonly FlowSample[],
  milestones: ReadonlyMap<string, FlowMilestones>,
): StepWait[] {
  const steps: Array<{
    step: FlowStep;
    start: (s: FlowSample) => number;
    end: (s: FlowSample) => number;
    ready?: (m: FlowMilestones) => number | undefined;
  }> = [
    { step: 'list', start: () => 0, end: (s) => s.listedMs },
    { step: 'order', start: (s) => s.listedMs, end: (s) => s.orderedMs, ready: (m) => m.ticketInOrders },
    { step: 'pay', start: (s) => s.orderedMs, end: (s) => s.paidMs, ready: (m) => m.orderInPayments },
    {
      step: 'complete',
      start: (s) => s.paidMs,
      end: (s) => s.completeMs,
      ready: (m) => m.completeWritten,
    },
  ];
  return steps.map(({ step, start, end, ready }) => {
    let flows = 0;
    let total = 0;
    let waiting = 0;
    for (const sample of samples) {
      const at = ready ? ready(milestones.get(sample.orderId) ?? {}) : undefined;
      if (ready && at === undefined) continue;
      const from = sample.startedAt + start(sample);
      const to = sample.startedAt + end(sample);
      flows++;
      total += to - from;
      if (at !== undefined) waiting += waitingWithin(from, to, at);
    }
    const meanMs = flows > 0 ? total / flows : 0;
    const waitingMs = flows > 0 ? waiting / flows : 0;
    return {
      step,
      waitsOn: STEP_WAITS_ON[step],
      flows,
      meanMs,
      waitingMs,
      share: ready && total > 0 ? waiting / total : null,
    };
  });
}
