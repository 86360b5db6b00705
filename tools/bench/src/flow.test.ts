import { ApiClient } from '@ticketing/stack/client';
import { type FlowSample, runFlowLevel } from './flow';

describe('runFlowLevel', () => {
  const seller = new ApiClient('http://127.0.0.1:1', 'seller@example.com');
  const buyers = [1, 2, 3].map((i) => new ApiClient('http://127.0.0.1:1', `buyer${i}@example.com`));

  it('runs one loop per buyer until the time is up, counting completions and failures', async () => {
    const used = new Set<string>();
    let calls = 0;
    const result = await runFlowLevel({
      seller,
      buyers,
      concurrency: 2,
      durationSeconds: 0.2,
      pollIntervalMs: 5,
      purchase: async (buyer): Promise<FlowSample> => {
        used.add(buyer.email);
        const n = ++calls;
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (n % 3 === 0) throw new Error(`failure ${n % 2}`);
        return {
          startedAt: Date.now(),
          ticketId: `t${n}`,
          orderId: `o${n}`,
          listedMs: 1,
          orderedMs: 2,
          paidMs: 3,
          completeMs: 4,
        };
      },
    });
    expect([...used].sort()).toEqual(['buyer1@example.com', 'buyer2@example.com']);
    expect(result.concurrency).toBe(2);
    expect(result.pollIntervalMs).toBe(5);
    expect(result.completed + result.failed).toBe(calls);
    expect(result.completed).toBeGreaterThan(0);
    expect(result.failed).toBeGreaterThan(0);
    expect(result.errors.sort()).toEqual(['failure 0', 'failure 1']);
    expect(result.samples).toHaveLength(result.completed);
    expect(result.latency).toMatchObject({ count: result.completed, p50: 4, p99: 4 });
    expect(result.steps.paid).toMatchObject({ p50: 3 });
    expect(result.rate).toBeCloseTo(result.completed / result.elapsedSeconds, 5);
  });

  it('needs a signed-up user per concurrent buyer', async () => {
    await expect(
      runFlowLevel({ seller, buyers, concurrency: 4, durationSeconds: 0.1, pollIntervalMs: 5 }),
    ).rejects.toThrow(RangeError);
  });
});
