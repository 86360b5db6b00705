/** Distribution of a set of durations (or any samples), in the samples' unit (the bench uses ms). */
export interface Summary {
  /** Number of samples. */
  count: number;
  /** Smallest sample. */
  min: number;
  /** Arithmetic mean. */
  mean: number;
  /** Median. */
  p50: number;
  /** 95th percentile. */
  p95: number;
  /** 99th percentile. */
  p99: number;
  /** Largest sample. */
  max: number;
}

/**
 * The `p`-th percentile (0-100) of samples sorted ascending, interpolated linearly between the two closest
 * ranks (rank = p/100 × (n-1), as numpy's default): p0 is the minimum, p100 the maximum, p50 of an even count
 * the mean of the middle two. Throws a RangeError on no samples or a `p` outside 0-100.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside 0-100`);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const low = sorted[lower]!;
  const high = sorted[upper]!;
  return low + (high - low) * (rank - lower);
}

/** Count, min, mean, p50/p95/p99 and max of the samples (in any order); null when there are none. */
export function summarize(samples: readonly number[]): Summary | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    count: sorted.length,
    min: sorted[0]!,
    mean: total / sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
  };
}

/** Events per second: `count` over `elapsedMs`; 0 when no time elapsed. */
export function ratePerSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}

/** `value / floor`, or null when either is missing or the floor is not positive (no meaningful ratio). */
export function ratio(value: number | null | undefined, floor: number | null | undefined): number | null {
  if (value === null || value === undefined || floor === null || floor === undefined) return null;
  if (!(floor > 0) || !Number.isFinite(value)) return null;
  return value / floor;
}

/** `value` rounded to `digits` decimals (for JSON output: figures past µs precision are noise). */
export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A summary with every figure rounded to `digits` decimals; null stays null. */
export function roundSummary(summary: Summary | null, digits = 3): Summary | null {
  if (!summary) return null;
  return {
    count: summary.count,
    min: round(summary.min, digits),
    mean: round(summary.mean, digits),
    p50: round(summary.p50, digits),
    p95: round(summary.p95, digits),
    p99: round(summary.p99, digits),
    max: round(summary.max, digits),
  };
}
