import { BenchConfigError } from './errors';
import {
  benchSettings,
  buyersNeeded,
  defaultSettings,
  FLOW_SELLERS,
  signupsNeeded,
  writersNeeded,
} from './settings';

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
      BENCH_FLOOR_COUNT: '50',
      BENCH_LAG_WAIT_MS: '1000',
      BENCH_READ_SEED: '0',
      BENCH_GROWTH_TICKETS: '120',
      BENCH_GROWTH_PURCHASES: '10',
      BENCH_GROWTH_BUYERS: '6',
    });
    expect(settings).toEqual({
      httpSeconds: 3,
      warmupSeconds: 0,
      connections: 4,
      maxWrites: 100,
      flowSeconds: 2.5,
      flowLevels: [1, 2, 4],
      floorCount: 50,
      lagWaitMs: 1000,
      readSeed: 0,
      growthTickets: 120,
      growthPurchases: 10,
      growthBuyers: 6,
    });
    // The growth level's 6 buyers outnumber the largest flow level's 4; 120 tickets take 3 sellers.
    expect(buyersNeeded(settings)).toBe(6);
    expect(signupsNeeded(settings)).toBe(writersNeeded(settings) + FLOW_SELLERS + 6 + 3);
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
    expect(bad({ BENCH_GROWTH_TICKETS: '100', BENCH_GROWTH_PURCHASES: '101' }).variable).toBe(
      'BENCH_GROWTH_PURCHASES',
    );
    expect(benchSettings({ BENCH_GROWTH_TICKETS: '0' }).growthTickets).toBe(0);
  });

  it('counts the sign-ups of a run: writers, flow sellers, buyers of the largest level, growth sellers', () => {
    // 2 × 2,000 writes at 50 per seller: 80 writers; 10,000 growth tickets at 50 per seller: 200 sellers.
    expect(writersNeeded(defaultSettings)).toBe(80);
    expect(signupsNeeded(defaultSettings)).toBe(80 + 16 + 32 + 200);
    expect(signupsNeeded({ ...defaultSettings, growthTickets: 0, flowLevels: [1, 4] })).toBe(80 + 16 + 4);
  });
});
