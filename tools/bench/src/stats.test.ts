import { percentile, ratePerSecond, ratio, round, roundSummary, summarize } from './stats';

describe('percentile', () => {
  const oneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it('interpolates linearly between the closest ranks', () => {
    expect(percentile(oneToTen, 50)).toBeCloseTo(5.5);
    expect(percentile(oneToTen, 95)).toBeCloseTo(9.55);
    expect(percentile(oneToTen, 99)).toBeCloseTo(9.91);
    expect(percentile([10, 20, 30, 40], 25)).toBeCloseTo(17.5);
  });

  it('gives the minimum at p0, the maximum at p100 and the sample itself for one sample', () => {
    expect(percentile(oneToTen, 0)).toBe(1);
    expect(percentile(oneToTen, 100)).toBe(10);
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
  });

  it('lands on a sample when the rank is whole', () => {
    const hundredAndOne = Array.from({ length: 101 }, (_, i) => i * 2);
    expect(percentile(hundredAndOne, 50)).toBe(100);
    expect(percentile(hundredAndOne, 95)).toBe(190);
    expect(percentile(hundredAndOne, 99)).toBe(198);
  });

  it('refuses no samples and percentiles outside 0-100', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('sorts its own copy and reports count, min, mean, percentiles and max', () => {
    const samples = [9, 1, 5, 3, 7];
    expect(summarize(samples)).toEqual({
      count: 5,
      min: 1,
      mean: 5,
      p50: 5,
      p95: 8.6,
      p99: expect.any(Number),
      max: 9,
    });
    expect(summarize(samples)!.p99).toBeCloseTo(8.92);
    expect(samples).toEqual([9, 1, 5, 3, 7]);
  });

  it('sorts numerically, not as strings', () => {
    expect(summarize([100, 20, 3])).toMatchObject({ min: 3, p50: 20, max: 100 });
  });

  it('is null for no samples', () => {
    expect(summarize([])).toBeNull();
  });
});

describe('rates, ratios and rounding', () => {
  it('computes a per-second rate from a count and milliseconds', () => {
    expect(ratePerSecond(500, 2000)).toBe(250);
    expect(ratePerSecond(3, 1500)).toBe(2);
    expect(ratePerSecond(10, 0)).toBe(0);
  });

  it('divides by the floor, or gives null without a usable floor', () => {
    expect(ratio(12, 4)).toBe(3);
    expect(ratio(1, 8)).toBe(0.125);
    expect(ratio(5, 0)).toBeNull();
    expect(ratio(5, null)).toBeNull();
    expect(ratio(undefined, 2)).toBeNull();
    expect(ratio(Number.POSITIVE_INFINITY, 2)).toBeNull();
  });

  it('rounds figures and summaries', () => {
    expect(round(1.23456)).toBe(1.235);
    expect(round(1.25, 1)).toBe(1.3);
    expect(
      roundSummary({ count: 2, min: 0.12345, mean: 1.00049, p50: 1, p95: 2.9999, p99: 3.0001, max: 4 }),
    ).toEqual({
      count: 2,
      min: 0.123,
      mean: 1,
      p50: 1,
      p95: 3,
      p99: 3,
      max: 4,
    });
    expect(roundSummary(null)).toBeNull();
  });
});
