import { BenchConfigError } from './errors';
import { benchSettings, defaultSettings, pollIntervalFor, signupsNeeded } from './settings';

describe('benchSettings', () => {
  it('uses the defaults without BENCH_* variables', () => {
    expect(benchSettings({})).toEqual(defaultSettings);
    expect(defaultSettings.flowLevels).toEqual([1, 8, 32]);
  });

  it('reads every BENCH_* variable', () => {
    const settings = benchSettings({
      BENCH_HTTP_SECONDS: '3',
      BENCH_WARMUP_SECONDS: '0',
      BENCH_CONNECTIONS: '4',
      BENCH_MAX_WRITES: '100',
      BENCH_FLOW_SECONDS: '2.5',
      BENCH_FLOW_LEVELS: '1, 2,4',
      BENCH_POLL_MS: '10',
      BENCH_MAX_POLL_RATE: '100',
      BENCH_FLOOR_COUNT: '50',
      BENCH_LAG_WAIT_MS: '1000',
      BENCH_READ_SEED: '0',
    });
    expect(settings).toEqual({
      httpSeconds: 3,
      warmupSeconds: 0,
      connections: 4,
      maxWrites: 100,
      flowSeconds: 2.5,
      flowLevels: [1, 2, 4],
      pollIntervalMs: 10,
      maxPollRate: 100,
      floorCount: 50,
      lagWaitMs: 1000,
      readSeed: 0,
    });
    expect(signupsNeeded(settings)).toBe(6);
  });

  it('names the variable of a bad value', () => {
    const bad = (env: NodeJS.ProcessEnv) => {
      try {
        benchSettings(env);
      } catch (error) {
        return error as BenchConfigError;
      }
      throw new Error('no error');
    };
    expect(bad({ BENCH_CONNECTIONS: '2.5' })).toMatchObject({
      name: 'BenchConfigError',
      code: 'BENCH_CONFIG',
      variable: 'BENCH_CONNECTIONS',
    });
    expect(bad({ BENCH_HTTP_SECONDS: '0' }).variable).toBe('BENCH_HTTP_SECONDS');
    expect(bad({ BENCH_FLOOR_COUNT: 'many' }).variable).toBe('BENCH_FLOOR_COUNT');
    expect(bad({ BENCH_WARMUP_SECONDS: '-1' }).variable).toBe('BENCH_WARMUP_SECONDS');
    expect(bad({ BENCH_FLOW_LEVELS: '1,0' }).variable).toBe('BENCH_FLOW_LEVELS');
    expect(bad({ BENCH_FLOW_LEVELS: '1,x' })).toBeInstanceOf(BenchConfigError);
  });

  it('lengthens the polling pause so that all buyers together poll at most BENCH_MAX_POLL_RATE times a second', () => {
    expect(pollIntervalFor(defaultSettings, 1)).toBe(20);
    expect(pollIntervalFor(defaultSettings, 4)).toBe(20);
    expect(pollIntervalFor(defaultSettings, 8)).toBe(40);
    expect(pollIntervalFor(defaultSettings, 32)).toBe(160);
    expect(pollIntervalFor({ ...defaultSettings, maxPollRate: 300 }, 32)).toBe(107);
  });

  it('counts the sign-ups of a run: writer, seller and one per buyer of the largest level', () => {
    expect(signupsNeeded(defaultSettings)).toBe(34);
  });
});
