import type { ServerResponse } from 'node:http';
import { type HttpServerHandle, listenHttp } from '@ticketing/testing';
import { type FlowSample, purchaseOnce, runFlowLevel } from './flow';
import { BenchClient, keepAliveAgent } from './http-client';

const agent = keepAliveAgent();
afterAll(() => agent.destroy());

describe('runFlowLevel', () => {
  const sellers = [1, 2].map((i) => new BenchClient('http://127.0.0.1:1', agent, `seller${i}@example.com`));
  const buyers = [1, 2, 3].map((i) => new BenchClient('http://127.0.0.1:1', agent, `buyer${i}@example.com`));

  it('runs one loop per buyer until the time is up, sellers in turn, counting completions and failures', async () => {
    const used = new Set<string>();
    const sellersUsed = new Set<string>();
    let calls = 0;
    const result = await runFlowLevel({
      sellers,
      buyers,
      concurrency: 2,
      durationSeconds: 0.2,
      purchase: async (seller, buyer): Promise<FlowSample> => {
        used.add(buyer.email);
        sellersUsed.add(seller.email);
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
    expect([...sellersUsed].sort()).toEqual(['seller1@example.com', 'seller2@example.com']);
    expect(result.concurrency).toBe(2);
    expect(result.completed + result.failed).toBe(calls);
    expect(result.completed).toBeGreaterThan(0);
    expect(result.failed).toBeGreaterThan(0);
    expect(result.errors.sort()).toEqual(['failure 0', 'failure 1']);
    expect(result.samples).toHaveLength(result.completed);
    expect(result.latency).toMatchObject({ count: result.completed, p50: 4, p99: 4 });
    expect(result.steps.paid).toMatchObject({ p50: 3 });
    expect(result.rate).toBeCloseTo(result.completed / result.elapsedSeconds, 5);
  });

  it('needs a signed-up user per concurrent buyer, and a seller', async () => {
    await expect(runFlowLevel({ sellers, buyers, concurrency: 4, durationSeconds: 0.1 })).rejects.toThrow(
      RangeError,
    );
    await expect(runFlowLevel({ sellers: [], buyers, concurrency: 1, durationSeconds: 0.1 })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('purchaseOnce', () => {
  // A stand-in of the gateway: the requests a purchase makes, and how the orders service's long poll answers.
  const requests: string[] = [];
  let server: HttpServerHandle;
  let waits = 0;
  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  beforeAll(async () => {
    server = await listenHttp((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      req.resume();
      if (req.url === '/api/tickets') answer(res, 201, { id: 't1', version: 0 });
      else if (req.url === '/api/orders') answer(res, 201, { id: 'o1', status: 'created' });
      else if (req.url === '/api/payments') answer(res, 201, { id: 'p1' });
      // The first long poll times out with the order still `created`; the second sees it complete.
      else if (req.url?.startsWith('/api/orders/o1?'))
        answer(res, 200, { id: 'o1', status: ++waits === 1 ? 'created' : 'complete' });
      else answer(res, 404, {});
    });
  });
  afterAll(() => server.close());

  it('asks each service once (it waits for its replica) and long-polls for complete: no polling', async () => {
    const sample = await purchaseOnce(new BenchClient(server.url, agent), new BenchClient(server.url, agent));
    expect(requests).toEqual([
      'POST /api/tickets',
      'POST /api/orders',
      'POST /api/payments',
      'GET /api/orders/o1?waitFor=complete&timeout=10',
      'GET /api/orders/o1?waitFor=complete&timeout=10',
    ]);
    expect(sample).toMatchObject({ ticketId: 't1', orderId: 'o1' });
    expect(sample.listedMs).toBeLessThanOrEqual(sample.orderedMs);
    expect(sample.orderedMs).toBeLessThanOrEqual(sample.paidMs);
    expect(sample.paidMs).toBeLessThanOrEqual(sample.completeMs);
  });
});
