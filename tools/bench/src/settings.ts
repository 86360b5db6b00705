import { BenchConfigError } from './errors';

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
  /** Shortest pause between polls while a flow waits for a replica or for `complete`, in ms; BENCH_POLL_MS. */
  pollIntervalMs: number;
  /** Most polls per second of all buyers together (longer pauses at high concurrency); BENCH_MAX_POLL_RATE. */
  maxPollRate: number;
  /** Samples of each NATS and Mongo floor (after a few warm-up ones); BENCH_FLOOR_COUNT. */
  floorCount: number;
  /** How long to wait for replicas to catch up before computing event lag, in ms; BENCH_LAG_WAIT_MS. */
  lagWaitMs: number;
  /** Tickets on sale to make sure of before the read test; BENCH_READ_SEED. */
  readSeed: number;
}

/** The defaults: about three to five minutes on a 2-core machine, stack start included. */
export const defaultSettings: BenchSettings = {
  httpSeconds: 8,
  warmupSeconds: 2,
  connections: 10,
  maxWrites: 2000,
  flowSeconds: 12,
  flowLevels: [1, 8, 32],
  pollIntervalMs: 20,
  maxPollRate: 200,
  floorCount: 500,
  lagWaitMs: 60_000,
  readSeed: 20,
};

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
  return {
    httpSeconds: positive(env, 'BENCH_HTTP_SECONDS', defaultSettings.httpSeconds, false),
    warmupSeconds: positive(env, 'BENCH_WARMUP_SECONDS', defaultSettings.warmupSeconds, false, true),
    connections: positive(env, 'BENCH_CONNECTIONS', defaultSettings.connections, true),
    maxWrites: positive(env, 'BENCH_MAX_WRITES', defaultSettings.maxWrites, true),
    flowSeconds: positive(env, 'BENCH_FLOW_SECONDS', defaultSettings.flowSeconds, false),
    flowLevels,
    pollIntervalMs: positive(env, 'BENCH_POLL_MS', defaultSettings.pollIntervalMs, false),
    maxPollRate: positive(env, 'BENCH_MAX_POLL_RATE', defaultSettings.maxPollRate, false),
    floorCount: positive(env, 'BENCH_FLOOR_COUNT', defaultSettings.floorCount, true),
    lagWaitMs: positive(env, 'BENCH_LAG_WAIT_MS', defaultSettings.lagWaitMs, false),
    readSeed: positive(env, 'BENCH_READ_SEED', defaultSettings.readSeed, true, true),
  };
}

/** Users the run signs up: one writer (HTTP writes), one seller (flows) and one per buyer of the largest level. */
export function signupsNeeded(settings: BenchSettings): number {
  return 2 + Math.max(...settings.flowLevels);
}

/**
 * The polling pause of a flow level: BENCH_POLL_MS, lengthened so that `concurrency` buyers together poll at
 * most BENCH_MAX_POLL_RATE times a second (polls that only find a replica behind would otherwise load the
 * very services they wait for).
 */
export function pollIntervalFor(settings: BenchSettings, concurrency: number): number {
  return Math.max(settings.pollIntervalMs, Math.ceil((concurrency * 1000) / settings.maxPollRate));
}
