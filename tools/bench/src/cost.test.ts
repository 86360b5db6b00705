import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type HttpServerHandle, listenHttp } from '@ticketing/testing';
import {
  BENCH_ROLE,
  type CostSnapshot,
  costBetween,
  eventActivity,
  snapshotWhenQuiet,
  takeSnapshot,
} from './cost';
import type { ServiceCounters } from './metrics';

const counters = (
  mongoCommands: Record<string, number>,
  eventsPublished: number,
  eventsHandled: Record<string, number> = {},
): ServiceCounters => ({ mongoCommands, eventsPublished, eventsHandled });

const snapshot = (
  at: number,
  services: Record<string, ServiceCounters>,
  cpuMs: Record<string, number | null>,
  processes: Record<string, number> = {},
): CostSnapshot => ({ at, services, cpuMs, processes });

describe('costBetween', () => {
  const before = snapshot(
    1000,
    {
      tickets: counters({ insert: 100, find: 50 }, 40, { acked: 10 }),
      orders: counters({ insert: 200 }, 70, { acked: 80, deferred: 2 }),
    },
    { tickets: 1000, orders: 2000, postgres: 500, stale: 10, [BENCH_ROLE]: 300 },
  );
  const after = snapshot(
    11_000,
    {
      tickets: counters({ insert: 120, find: 50, update: 10 }, 50, { acked: 20 }),
      orders: counters({ insert: 260 }, 90, { acked: 120, deferred: 2 }),
      payments: counters({ insert: 10 }, 10, { acked: 10 }), // not in `before`: counted from zero
    },
    { tickets: 1200, orders: 2600, postgres: 700, stale: null, [BENCH_ROLE]: 340 },
    { tickets: 1, orders: 1, postgres: 7, stale: 0, [BENCH_ROLE]: 1 },
  );

  it('divides each difference by the flows completed: round trips by service and command', () => {
    const cost = costBetween(before, after, 10);
    expect(cost.per).toBe('flow');
    expect(cost.windowSeconds).toBe(10);
    expect(cost.mongoCommands).toEqual({
      total: 10,
      byService: {
        // find did not change: left out.
        tickets: { total: 3, byCommand: { insert: 2, update: 1 } },
        orders: { total: 6, byCommand: { insert: 6 } },
        payments: { total: 1, byCommand: { insert: 1 } },
      },
    });
  });

  it('gives CPU per process, null for one that restarted, and the bench apart from the stack', () => {
    const cost = costBetween(before, after, 10);
    expect(cost.cpuMs).toEqual({
      total: 20 + 60 + 20,
      byProcess: { tickets: 20, orders: 60, postgres: 20, stale: null },
      processes: { tickets: 1, orders: 1, postgres: 7, stale: 0 },
      bench: 4,
    });
  });

  it('gives events published and handled per service', () => {
    const cost = costBetween(before, after, 10);
    expect(cost.eventsPublished).toEqual({ total: 4, byService: { tickets: 1, orders: 2, payments: 1 } });
    expect(cost.eventsHandled).toEqual({
      total: 1 + 4 + 1,
      byService: { tickets: { acked: 1 }, orders: { acked: 4 }, payments: { acked: 1 } },
    });
  });

  it('per second for the idle stack, and no figures when nothing was divided by', () => {
    expect(costBetween(before, after, 10, 'second').per).toBe('second');
    expect(costBetween(before, after, 0).mongoCommands.total).toBeNaN();
  });

  it('counts events published and handled as activity', () => {
    expect(eventActivity(before)).toBe(40 + 10 + 70 + 82);
  });
});

describe('snapshots of a real server and process', () => {
  let server: HttpServerHandle;
  let published = 0;
  let child: ChildProcess;
  beforeAll(async () => {
    // Its relay publishes an event on each of the first five reads of /metrics, then nothing more.
    server = await listenHttp((_req, res) => {
      if (published < 5) published++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(
        `mongo_commands_total{command="insert"} ${published * 3}\noutbox_published_total ${published}\n`,
      );
    });
    child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  });
  afterAll(async () => {
    await server.close();
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  });

  it('reads /metrics and /proc, and waits until the events stop', async () => {
    const sources = {
      services: { tickets: server.url },
      processes: [
        { role: 'tickets', pid: child.pid!, port: 1 },
        { role: 'postgres', pid: process.pid, port: 2 }, // a tree: this process and its child
      ],
    };
    const first = await takeSnapshot(sources);
    expect(first.services.tickets).toEqual({
      mongoCommands: { insert: 3 },
      eventsPublished: 1,
      eventsHandled: {},
    });
    expect(first.cpuMs.tickets).toBeGreaterThanOrEqual(0);
    expect(first.processes.postgres).toBeGreaterThanOrEqual(2);
    expect(first.cpuMs[BENCH_ROLE]).toBeGreaterThan(0);
    // The replicas of a service (STACK_REPLICAS) add up to its role.
    const replicated = await takeSnapshot({
      services: {},
      processes: [
        { role: 'orders', replica: 1, pid: process.pid, port: 3 },
        { role: 'orders', replica: 2, pid: child.pid!, port: 4 },
      ],
    });
    expect(replicated.processes.orders).toBe(2);
    // At least this process's CPU (read from /proc in clock ticks, so up to a tick or two below).
    expect(replicated.cpuMs.orders).toBeGreaterThan(first.cpuMs[BENCH_ROLE]! - 25);
    const quiet = await snapshotWhenQuiet(sources, { intervalMs: 10, maxMs: 5000 });
    expect(quiet.services.tickets!.eventsPublished).toBe(5);
    expect(costBetween(first, quiet, 4).mongoCommands.total).toBe(3);
  });
});
