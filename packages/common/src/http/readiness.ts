import type { Connection } from 'mongoose';

/** One readiness check: resolves when the dependency is usable, rejects (with a short reason) when not. */
export type ReadinessCheck = () => Promise<void>;

/** The outcome of {@link runReadiness}: overall verdict and `'ok'` or the failure reason per check. */
export interface ReadinessReport {
  /** True when every check passed. */
  ready: boolean;
  /** Per check name: `'ok'` or the error message. */
  checks: Record<string, string>;
}

/** Default time one check may take before it counts as failed. */
export const DEFAULT_READINESS_TIMEOUT_MS = 2000;

/** Runs every check concurrently, each bounded by `timeoutMs`, so one hung dependency cannot hang the probe. */
export async function runReadiness(
  checks: Record<string, ReadinessCheck>,
  timeoutMs: number = DEFAULT_READINESS_TIMEOUT_MS,
): Promise<ReadinessReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map(async (name) => {
      try {
        await withTimeout(checks[name]!(), timeoutMs, `timed out after ${timeoutMs}ms`);
        return 'ok';
      } catch (err) {
        return err instanceof Error && err.message ? err.message : String(err || 'failed');
      }
    }),
  );
  const report: ReadinessReport = { ready: true, checks: {} };
  names.forEach((name, i) => {
    const result = results[i] ?? 'failed';
    report.checks[name] = result;
    if (result !== 'ok') {
      report.ready = false;
    }
  });
  return report;
}

/** Readiness of a mongoose connection: connected, and the server answers a ping. */
export function mongoReadiness(connection: Connection): ReadinessCheck {
  return async () => {
    // 1 = connected; the driver would otherwise wait for server selection far longer than a probe should.
    if (connection.readyState !== 1 || !connection.db) {
      throw new Error('mongo not connected');
    }
    await connection.db.admin().ping();
  };
}

/** The part of a NATS connection that {@link natsReadiness} uses; structural so this file needs no bus code. */
export interface NatsPingable {
  /** True once the connection is closed for good. */
  isClosed(): boolean;
  /** Round trip to the server; stays pending while the client is reconnecting. */
  flush(): Promise<void>;
}

/** Options of {@link natsReadiness}. */
export interface NatsReadinessOptions {
  /** How long the round trip may take; kept short because a reconnecting client never fails a flush. */
  timeoutMs?: number;
}

/** Readiness of a NATS connection: not closed, and a flush round trip to the server completes in time. */
export function natsReadiness(nc: NatsPingable, options: NatsReadinessOptions = {}): ReadinessCheck {
  const timeoutMs = options.timeoutMs ?? 1000;
  return async () => {
    if (nc.isClosed()) {
      throw new Error('nats connection closed');
    }
    await withTimeout(nc.flush(), timeoutMs, `nats did not answer within ${timeoutMs}ms (disconnected?)`);
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  // The losing promise may settle later; swallow that so it is not reported as unhandled.
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
