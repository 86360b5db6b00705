/** Options of {@link eventually}. */
export interface EventuallyOptions {
  /** Give up after this long; default 10000 ms. */
  timeoutMs?: number;
  /** Pause between attempts; default 50 ms. */
  intervalMs?: number;
}

/**
 * Runs `assertion` until it stops throwing and returns its result; after `timeoutMs` rethrows its last error,
 * so the failure reads like the assertion's own.
 */
export async function eventually<T>(
  assertion: () => T | Promise<T>,
  options: EventuallyOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (err) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw err;
      // The last attempt lands on the deadline rather than giving up up to one interval early.
      await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, remaining)));
    }
  }
}
