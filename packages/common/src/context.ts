import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What one unit of work (an HTTP request or a handled event) carries along: the ids that tie its logs and events together. */
export interface WorkContext {
  /** Correlation id: the request id of the HTTP call that started a chain, carried on every event it causes. */
  correlationId: string;
}

const storage = new AsyncLocalStorage<WorkContext>();

/** Runs `fn` with `context` visible to everything it calls (logs, outbox writes), even across awaits. */
export function runWithContext<T>(context: WorkContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context of the work in progress, if any. */
export function currentContext(): WorkContext | undefined {
  return storage.getStore();
}

/** The correlation id of the work in progress, or a fresh one when nothing started a chain (timers, start-up). */
export function correlationIdOrNew(): string {
  return storage.getStore()?.correlationId ?? randomUUID();
}
