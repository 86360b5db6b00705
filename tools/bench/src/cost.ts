import type { StackProcess } from '@ticketing/stack/stack';
import { fetchMetrics, type ServiceCounters, serviceCounters } from './metrics';
import { processCpu, readAllProcStats } from './proc';

/** What the cost of a window is read from: each service's /metrics and each process of stack.json. */
export interface CostSources {
  /** Service name → base URL (its /metrics). */
  services: Record<string, string>;
  /** Every process of the stack (stack.json `processes`). */
  processes: readonly StackProcess[];
}

/**
 * Roles whose CPU is their whole process tree: PostgreSQL's postmaster forks a backend per connection, and it
 * is the backends that run FerretDB's queries.
 */
export const TREE_ROLES: ReadonlySet<string> = new Set(['postgres']);

/** The label of the bench's own process among the stack's. */
export const BENCH_ROLE = 'bench';

/** The counters and CPU times at one moment. */
export interface CostSnapshot {
  /** performance.now() when taken. */
  at: number;
  /** Service name → its counters. */
  services: Record<string, ServiceCounters>;
  /** Role → CPU used so far, in ms (null: the process is gone); `bench` is this process. */
  cpuMs: Record<string, number | null>;
  /** Role → processes counted (the postmaster's tree: itself and its live backends). */
  processes: Record<string, number>;
}

/** Reads every service's /metrics and every process's CPU now. */
export async function takeSnapshot(sources: CostSources): Promise<CostSnapshot> {
  const services = Object.fromEntries(
    await Promise.all(
      Object.entries(sources.services).map(
        async ([name, url]) => [name, serviceCounters(await fetchMetrics(url))] as const,
      ),
    ),
  );
  const stats = readAllProcStats();
  const cpuMs: Record<string, number | null> = {};
  const processes: Record<string, number> = {};
  for (const process_ of sources.processes) {
    const reading = processCpu(process_.pid, { tree: TREE_ROLES.has(process_.role), stats });
    // The replicas of a service (STACK_REPLICAS) count as one role: what the service costs.
    const was = cpuMs[process_.role];
    cpuMs[process_.role] = reading.ms === null || was === null ? null : (was ?? 0) + reading.ms;
    processes[process_.role] = (processes[process_.role] ?? 0) + reading.processes;
  }
  const own = process.cpuUsage();
  cpuMs[BENCH_ROLE] = (own.user + own.system) / 1000;
  processes[BENCH_ROLE] = 1;
  return { at: performance.now(), services, cpuMs, processes };
}

/** What a window cost, divided by what it did: per completed flow, or per second for the idle stack. */
export interface CostBreakdown {
  /** `flow`: per completed purchase; `second`: per second of the window. */
  per: 'flow' | 'second';
  /** Completed flows (per flow) or seconds (per second) the figures are divided by. */
  divisor: number;
  /** Length of the window, in s (the flows, then the wait for the last events to be handled). */
  windowSeconds: number;
  /** Commands sent to Mongo (database round trips), per service and by command. */
  mongoCommands: {
    total: number;
    byService: Record<string, { total: number; byCommand: Record<string, number> }>;
  };
  /** CPU in ms per process of stack.json (null: it restarted meanwhile) and of the bench itself. */
  cpuMs: {
    /** Every process of the stack; the bench is not in it. */
    total: number;
    byProcess: Record<string, number | null>;
    /** Processes counted per role at the end of the window (PostgreSQL: the postmaster and its backends). */
    processes: Record<string, number>;
    /** The load generator (this process). */
    bench: number;
  };
  /** Events each service's relay published. */
  eventsPublished: { total: number; byService: Record<string, number> };
  /** Events each service's listeners took, by outcome. */
  eventsHandled: { total: number; byService: Record<string, Record<string, number>> };
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/** `after − before` per key, divided by `divisor`; keys with no change are left out. */
function perKey(
  before: Record<string, number>,
  after: Record<string, number>,
  divisor: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta !== 0) out[key] = delta / divisor;
  }
  return out;
}

/**
 * The cost between two snapshots divided by `divisor` (flows completed, or seconds): round trips, CPU and
 * events. A service missing from `before` counts from zero; a process whose CPU is unknown in either
 * snapshot (restarted: another pid) is null and left out of the total.
 */
export function costBetween(
  before: CostSnapshot,
  after: CostSnapshot,
  divisor: number,
  per: CostBreakdown['per'] = 'flow',
): CostBreakdown {
  const d = divisor > 0 ? divisor : Number.NaN;
  const empty: ServiceCounters = { mongoCommands: {}, eventsPublished: 0, eventsHandled: {} };
  const commands: CostBreakdown['mongoCommands']['byService'] = {};
  const published: Record<string, number> = {};
  const handled: Record<string, Record<string, number>> = {};
  for (const [service, counters] of Object.entries(after.services)) {
    const was = before.services[service] ?? empty;
    const byCommand = perKey(was.mongoCommands, counters.mongoCommands, d);
    commands[service] = { total: sum(Object.values(byCommand)), byCommand };
    published[service] = (counters.eventsPublished - was.eventsPublished) / d;
    handled[service] = perKey(was.eventsHandled, counters.eventsHandled, d);
  }
  const byProcess: Record<string, number | null> = {};
  for (const [role, ms] of Object.entries(after.cpuMs)) {
    if (role === BENCH_ROLE) continue;
    const was = before.cpuMs[role];
    byProcess[role] = ms === null || was === null || was === undefined ? null : (ms - was) / d;
  }
  const bench = ((after.cpuMs[BENCH_ROLE] ?? 0) - (before.cpuMs[BENCH_ROLE] ?? 0)) / d;
  return {
    per,
    divisor,
    windowSeconds: (after.at - before.at) / 1000,
    mongoCommands: { total: sum(Object.values(commands).map((c) => c.total)), byService: commands },
    cpuMs: {
      total: sum(Object.values(byProcess).filter((ms): ms is number => ms !== null)),
      byProcess,
      processes: Object.fromEntries(Object.entries(after.processes).filter(([role]) => role !== BENCH_ROLE)),
      bench,
    },
    eventsPublished: { total: sum(Object.values(published)), byService: published },
    eventsHandled: {
      total: sum(Object.values(handled).flatMap((outcomes) => Object.values(outcomes))),
      byService: handled,
    },
  };
}

/** Events published plus events handled, over every service: it stops moving once the last event is handled. */
export function eventActivity(snapshot: CostSnapshot): number {
  return sum(
    Object.values(snapshot.services).map(
      (counters) => counters.eventsPublished + sum(Object.values(counters.eventsHandled)),
    ),
  );
}

/**
 * Takes snapshots every `intervalMs` until two in a row show the same {@link eventActivity} (the events the
 * flows caused have all been handled: order.completed reaches tickets and payments after the buyer saw
 * `complete`), or `maxMs` has passed; returns the last one.
 */
export async function snapshotWhenQuiet(
  sources: CostSources,
  options: { intervalMs?: number; maxMs?: number } = {},
): Promise<CostSnapshot> {
  const intervalMs = options.intervalMs ?? 300;
  const deadline = performance.now() + (options.maxMs ?? 10_000);
  let last = await takeSnapshot(sources);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const next = await takeSnapshot(sources);
    if (eventActivity(next) === eventActivity(last) || performance.now() >= deadline) return next;
    last = next;
  }
}
