import type { FlowSample } from './flow';
import { type FlowMilestones, stepWaits, waitingWithin } from './waits';

const T0 = Date.UTC(2025, 0, 1);

const sample = (orderId: string, startedAt: number): FlowSample => ({
  startedAt,
  ticketId: `t-${orderId}`,
  orderId,
  listedMs: 10,
  orderedMs: 50,
  paidMs: 70,
  completeMs: 100,
});

describe('step waits', () => {
  it('counts the part of a step before the milestone, within the step', () => {
    expect(waitingWithin(100, 150, 130)).toBe(30);
    expect(waitingWithin(100, 150, 90)).toBe(0); // ready before the step began
    expect(waitingWithin(100, 150, 170)).toBe(50); // ready after the answer: the whole step
  });

  it('gives each step its mean time and the share of it waiting on another service', () => {
    const samples = [sample('o1', T0), sample('o2', T0 + 1000), sample('o3', T0 + 2000)];
    const milestones = new Map<string, FlowMilestones>([
      // o1: orders had the ticket 30 ms into the 40 ms order step; payments had the order before the pay step.
      ['o1', { ticketInOrders: T0 + 40, orderInPayments: T0 + 45, completeWritten: T0 + 90 }],
      // o2: 10 ms into its order step, 10 ms into its pay step, complete written 30 ms after the payment.
      ['o2', { ticketInOrders: T0 + 1020, orderInPayments: T0 + 1060, completeWritten: T0 + 1100 }],
      // o3: no milestones found (its changes were not read): left out of the steps that need them.
    ]);
    const [list, order, pay, complete] = stepWaits(samples, milestones);
    expect(list).toEqual({ step: 'list', waitsOn: null, flows: 3, meanMs: 10, waitingMs: 0, share: null });
    expect(order).toEqual({
      step: 'order',
      waitsOn: 'ticket.created: tickets → orders',
      flows: 2,
      meanMs: 40,
      waitingMs: 20,
      share: 0.5,
    });
    expect(pay).toMatchObject({ flows: 2, meanMs: 20, waitingMs: 5, share: 0.25 });
    expect(complete).toMatchObject({
      waitsOn: 'payment.created: payments → orders',
      meanMs: 30,
      waitingMs: 25,
      share: 25 / 30,
    });
  });

  it('has no share without flows', () => {
    expect(stepWaits([], new Map())[1]).toMatchObject({ flows: 0, meanMs: 0, share: null });
  });
});
