import autocannon from 'autocannon';
import { MeasurementError } from './errors';
import { ratePerSecond, type Summary, summarize } from './stats';

/** One autocannon run: what to hit, how hard and how long. */
export interface LoadOptions {
  /** Name in reports, e.g. `GET /api/tickets`. */
  name: string;
  /** Full URL (127.0.0.1 only). */
  url: string;
  /** HTTP method (default GET). */
  method?: 'GET' | 'POST';
  /** Request headers. */
  headers?: Record<string, string>;
  /** Headers added to each request in turn (one signed-in user after another), on top of `headers`. */
  rotatingHeaders?: ReadonlyArray<Record<string, string>>;
  /** Request body (sent as is). */
  body?: string;
  /** Concurrent connections. */
  connections: number;
  /** Measured seconds. */
  durationSeconds: number;
  /** Seconds of the same load before, not measured (0 = none). */
  warmupSeconds: number;
  /** Stop a run (warm-up or measured) after this many requests, even before its time is up. */
  maxRequests?: number;
}

/** Throughput and latency of one measured autocannon run. */
export interface HttpFigures {
  /** Name of the run. */
  name: string;
  /** Connections used. */
  connections: number;
  /** Measured wall time, in s. */
  elapsedSeconds: number;
  /** Responses with a 2xx status. */
  ok: number;
  /** Responses with another status, by status. */
  otherStatuses: Record<string, number>;
  /** Request errors and timeouts (no response). */
  errors: number;
  /** 2xx responses per second. */
  rate: number;
  /** Latency of 2xx responses, in ms (autocannon's per-response times, sub-ms precision). */
  latency: Summary | null;
}

/** An autocannon request that takes the next of `sets` each time it is sent. */
function rotating(sets: ReadonlyArray<Record<string, string>>): autocannon.Request {
  let next = 0;
  return {
    setupRequest: (request) => ({
      ...request,
      headers: { ...request.headers, ...sets[next++ % sets.length] },
    }),
  };
}

function cannon(
  options: LoadOptions,
  durationSeconds: number,
  maxRequests: number | undefined,
  onResponse?: (status: number, ms: number) => void,
  onError?: () => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        headers: options.headers,
        body: options.body,
        ...(options.rotatingHeaders?.length ? { requests: [rotating(options.rotatingHeaders)] } : {}),
        connections: options.connections,
        duration: durationSeconds,
        // Each connection stops after its share; autocannon notices every sampleInt ms.
        ...(maxRequests !== undefined ? { maxOverallRequests: maxRequests } : {}),
        sampleInt: 100,
        timeout: 10,
      },
      (error: unknown) => {
        if (error)
          reject(new MeasurementError(options.name, `autocannon failed: ${String(error)}`, { cause: error }));
        else resolve();
      },
    );
    if (onResponse) instance.on('response', (_client, status, _bytes, ms) => onResponse(status, ms));
    if (onError) instance.on('reqError', () => onError());
  });
}

/**
 * Hits one URL with autocannon: a warm-up run, then a measured one whose every response time is recorded
 * (autocannon's own histogram keeps whole milliseconds, too coarse for sub-ms floors).
 */
export async function runLoad(options: LoadOptions): Promise<HttpFigures> {
  if (options.warmupSeconds > 0) await cannon(options, options.warmupSeconds, options.maxRequests);
  const latencies: number[] = [];
  const otherStatuses: Record<string, number> = {};
  let errors = 0;
  const started = performance.now();
  let lastResponse = started;
  await cannon(
    options,
    options.durationSeconds,
    options.maxRequests,
    (status, ms) => {
      lastResponse = performance.now();
      if (status >= 200 && status < 300) latencies.push(ms);
      else otherStatuses[status] = (otherStatuses[status] ?? 0) + 1;
    },
    () => {
      errors++;
    },
  );
  // Up to the last response: a run stopped by count ends without waiting for autocannon's next sample tick.
  const elapsedMs = (latencies.length > 0 ? lastResponse : performance.now()) - started;
  return {
    name: options.name,
    connections: options.connections,
    elapsedSeconds: elapsedMs / 1000,
    ok: latencies.length,
    otherStatuses,
    errors,
    rate: ratePerSecond(latencies.length, elapsedMs),
    latency: summarize(latencies),
  };
}
