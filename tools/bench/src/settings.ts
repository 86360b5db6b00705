import { BenchConfigError } from './errors';
import { sellersForSeeding } from './growth';

/** What one bench run does; every figure has a BENCH_* variable to change it (see README). */
export interface BenchSettings {
  /** Measured seconds of each autocannon run (HTTP reads, writes, the Express floor); BENCH_HTTP_SECONDS. */
  httpSeconds: number;
  /** Seconds of load before each measured autocannon run, not counted; BENCH_WARMUP_SECONDS. */
  warmupSeconds: number;
  /** autocannon connections; BENCH_CONNECTIONS. */
  connections: number;
  /** Most requests of one measured write run (each creates a ticket); BENCH_MAX_WRITES. */
  maxWrites: number;
  /** Seconds each purchase-flow level runs; BENCH_FLOW_SECONDS. */
  flowSeconds: number;
  /** Concurrent buyers of each purchase-flow level; BENCH_FLOW_LEVELS (comma-separated). */
  flowLevels: number[];
  /** Samples of each NATS and Mongo floor (after a few warm-up ones); BENCH_FLOOR_COUNT. */
  floorCount: number;
  /** How long to wait for replicas to catch up before computing event lag, in ms; BENCH_LAG_WAIT_MS. */
  lagWaitMs: number;
  /** Tickets on sale to make sure of before the read test; BENCH_READ_SEED. */
  readSeed: number;
  /** Tickets the growth level lists before repeating the reads and a flow level (0: no growth level); BENCH_GROWTH_TICKETS. */
  growthTickets: number;
  /** Completed purchases of seeded tickets the growth level adds to the history; BENCH_GROWTH_PURCHASES. */
  growthPurchases: number;
  /** Concurrent buyers of the growth level's flows (and of its purchases); BENCH_GROWTH_BUYERS. */
  growthBuyers: number;
}

/** The defaults: about three to five minutes on a 2-core machine, stack start included. */
export const defaultSettings: BenchSettings = {
  httpSeconds: 8,
  warmupSeconds: 2,
  connections: 10,
  maxWrites: 2000,
  flowSeconds: 12,
  flowLevels: [1, 8, 32],
  floorCount: 500,
  lagWaitMs: 60_000,
  readSeed: 20,
  growthTickets: 10_000,
  growthPurchases: 300,
  growthBuyers: 8,
};

/** Sellers the flows list their tickets with, in turn: at 60 creations per user per minute, 16 flows/s. */
export const FLOW_SELLERS = 16;

function positive(
  env: NodeJS.ProcessEnv,
  variable: string,
  fallback: number,
  integer: boolean,
  allowZero = false,
): number {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !allowZero)) {
    throw new BenchConfigError(
      variable,
      `must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${raw}"`,
    );
  }
  if (integer && !Number.isInteger(value))
    throw new BenchConfigError(variable, `must be a whole number, got "${raw}"`);
  return value;
}

/** Reads the settings from BENCH_* variables over {@link defaultSettings}; {@link BenchConfigError} on a bad one. */
export function benchSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const levelsRaw = env.BENCH_FLOW_LEVELS;
  let flowLevels = defaultSettings.flowLevels;
  if (levelsRaw !== undefined && levelsRaw.trim() !== '') {
    flowLevels = levelsRaw.split(',').map((part) => Number(part.trim()));
    if (flowLevels.some((level) => !Number.isInteger(level) || level <= 0)) {
      throw new BenchConfigError(
        'BENCH_FLOW_LEVELS',
        `must be positive whole numbers like "1,8,32", got "${levelsRaw}"`,
      );
    }
  }
  const settings: BenchSettings = {
    httpSeconds: positive(env, 'BENCH_HTTP_SECONDS', defaultSettings.httpSeconds, false),
    warmupSeconds: positive(env, 'BENCH_WARMUP_SECONDS', defaultSettings.warmupSeconds, false, true),
    connections: positive(env, 'BENCH_CONNECTIONS', defaultSettings.connections, true),
    maxWrites: positive(env, 'BENCH_MAX_WRITES', defaultSettings.maxWrites, true),
    flowSeconds: positive(env, 'BENCH_FLOW_SECONDS', defaultSettings.flowSeconds, false),
    flowLevels,
    floorCount: positive(env, 'BENCH_FLOOR_COUNT', defaultSettings.floorCount, true),
    lagWaitMs: positive(env, 'BENCH_LAG_WAIT_MS', defaultSettings.lagWaitMs, false),
    readSeed: positive(env, 'BENCH_READ_SEED', defaultSettings.readSeed, true, true),
    growthTickets: positive(env, 'BENCH_GROWTH_TICKETS', defaultSettings.growthTickets, true, true),
    growthPurchases: positive(env, 'BENCH_GROWTH_PURCHASES', defaultSettings.growthPurchases, true, true),
    growthBuyers: positive(env, 'BENCH_GROWTH_BUYERS', defaultSettings.growthBuyers, true),
  };
  if (settings.growthTickets > 0 && settings.growthPurchases > settings.growthTickets) {
    throw new BenchConfigError(
      'BENCH_GROWTH_PURCHASES',
      `buys seeded tickets: at most BENCH_GROWTH_TICKETS (${settings.growthTickets}), got ${settings.growthPurchases}`,
    );
  }
  return settings;
}

/** Concurrent buyers the run needs: the largest flow level, or the growth level's if larger. */
export function buyersNeeded(settings: BenchSettings): number {
  return Math.max(...settings.flowLevels, settings.growthTickets > 0 ? settings.growthBuyers : 0);
}

/**
 * Sellers the HTTP write test lists tickets as, in turn: its warm-up and measured runs (at most `maxWrites`
 * each) within the 60 per seller per minute the contract allows, with a margin (50 each).
 */
export function writersNeeded(settings: BenchSettings): number {
  return Math.ceil((2 * settings.maxWrites) / 50);
}

/**
 * Users the run signs up: the writers (HTTP writes), {@link FLOW_SELLERS} sellers and the buyers of the flows,
 * and the sellers that seed the growth level.
 */
export function signupsNeeded(settings: BenchSettings): number {
  return (
    writersNeeded(settings) +
    FLOW_SELLERS +
    buyersNeeded(settings) +
    sellersForSeeding(settings.growthTickets)
  );
}
