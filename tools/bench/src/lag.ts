import type { Collection, Document } from 'mongodb';
import { type Summary, summarize } from './stats';

/** The parts of a change document (AggregateStore's `<collection>_changes`) the lag needs. */
export interface ChangeTime {
  /** `<aggregate id>:<version>`, the same in the owner's changes and in a replica's. */
  _id: string;
  /** When the change was written. */
  at: Date;
  /** Events the change caused (owner side): only changes with an event reach a replica. */
  events?: ReadonlyArray<{ subject: string }>;
}

/** Event lag between an owner's changes and a replica's. */
export interface LagFigures {
  /** e.g. `tickets → orders`. */
  name: string;
  /** Owner changes whose event the replica applied. */
  pairs: number;
  /** Owner changes with an event the replica had not applied when the wait ended. */
  missing: number;
  /** Replica change `at` − owner change `at`, in ms. */
  lag: Summary | null;
}

/** Owner changes that publish an event whose subject starts with `subjectPrefix` (e.g. `ticket.`). */
export function publishingChanges(changes: readonly ChangeTime[], subjectPrefix: string): ChangeTime[] {
  return changes.filter((change) =>
    (change.events ?? []).some((event) => event.subject.startsWith(subjectPrefix)),
  );
}

/**
 * Pairs owner and replica changes by `_id` (aggregate id and version): each pair's lag is the replica's `at`
 * minus the owner's, from the owner writing the change (its event still in the outbox) to the replica having
 * applied it. Owner changes without a replica change are counted as missing.
 */
export function pairLags(
  owner: readonly ChangeTime[],
  replica: readonly ChangeTime[],
): { lags: number[]; missing: string[] } {
  const applied = new Map(replica.map((change) => [change._id, new Date(change.at).getTime()]));
  const lags: number[] = [];
  const missing: string[] = [];
  for (const change of owner) {
    const at = applied.get(change._id);
    if (at === undefined) missing.push(change._id);
    else lags.push(at - new Date(change.at).getTime());
  }
  return { lags, missing };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Options of {@link measureEventLag}. */
export interface EventLagOptions {
  /** Name in reports. */
  name: string;
  /** The owner's `<collection>_changes`. */
  owner: Collection<Document>;
  /** The replica's `<collection>_changes` in the consuming service's database. */
  replica: Collection<Document>;
  /** The aggregates to look at. */
  aggregateIds: readonly string[];
  /** Subject prefix of the owner's events the replica consumes (`ticket.`, `order.`). */
  subjectPrefix: string;
  /** How long to wait for the replica to apply every event, in ms. */
  waitMs: number;
}

/**
 * Event lag of the given aggregates, read from the change documents (no polling of the API): waits up to
 * `waitMs` until the replica has applied every published owner change, then pairs them.
 */
export async function measureEventLag(options: EventLagOptions): Promise<LagFigures> {
  const owner: ChangeTime[] = [];
  for (const ids of chunks(options.aggregateIds, 500)) {
    const found = await options.owner
      .find({ aggregateId: { $in: ids } }, { projection: { at: 1, events: 1 } })
      .toArray();
    owner.push(...(found as unknown as ChangeTime[]));
  }
  const published = publishingChanges(owner, options.subjectPrefix);
  const replica = new Map<string, ChangeTime>();
  const deadline = Date.now() + options.waitMs;
  let missing = published.map((change) => change._id);
  for (;;) {
    for (const ids of chunks(missing, 500)) {
      const found = await options.replica
        .find({ _id: { $in: ids } } as never, { projection: { at: 1 } })
        .toArray();
      for (const change of found as unknown as ChangeTime[]) replica.set(change._id, change);
    }
    missing = missing.filter((id) => !replica.has(id));
    if (missing.length === 0 || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const { lags } = pairLags(published, [...replica.values()]);
  return { name: options.name, pairs: lags.length, missing: missing.length, lag: summarize(lags) };
}

/**
 * When each order's `complete` was written by the orders service (its change with status `complete`), by
 * order id: the exact end of a purchase, without the client's polling interval.
 */
export async function completionTimes(
  orderChanges: Collection<Document>,
  orderIds: readonly string[],
): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for (const ids of chunks(orderIds, 500)) {
    const found = await orderChanges
      .find(
        { aggregateId: { $in: ids }, 'state.status': 'complete' },
        { projection: { at: 1, aggregateId: 1 } },
      )
      .toArray();
    for (const change of found) {
      const at = new Date(change.at as Date).getTime();
      const id = String(change.aggregateId);
      const known = times.get(id);
      if (known === undefined || at < known) times.set(id, at);
    }
  }
  return times;
}

/**
 * When each aggregate's `version` was written to `changes` (a replica's: when that service applied it), by
 * aggregate id; aggregates without that change are absent.
 */
export async function versionTimes(
  changes: Collection<Document>,
  aggregateIds: readonly string[],
  version = 0,
): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for (const ids of chunks(aggregateIds, 500)) {
    const found = await changes
      .find({ _id: { $in: ids.map((id) => `${id}:${version}`) } } as never, { projection: { at: 1 } })
      .toArray();
    for (const change of found) {
      const id = String(change._id);
      times.set(id.slice(0, id.lastIndexOf(':')), new Date(change.at as Date).getTime());
    }
  }
  return times;
}
