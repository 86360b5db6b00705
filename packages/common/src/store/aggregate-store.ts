import { setTimeout as sleep } from 'node:timers/promises';
import type { mongo } from 'mongoose';
import { replacedEverywhere } from '../erasure/replace';
import type { EventDataInput, Subject } from '../events/catalog';
import { OutOfOrderError } from '../events/errors';
import { type VersionVerdict, versionVerdict } from '../events/versioning';
import { newEvent, type OutboxEvent } from '../outbox/event';
import type { OutboxClaim } from '../outbox/relay';
import { AggregateExistsError, ContentionError } from './errors';
import type { ChangeNotices } from './notices';

/** An aggregate as read: its state, its id and its version (0 when created, +1 with every change). */
export type Versioned<S> = S & { _id: string; version: number };

/** An event a decision causes; the store stamps it with the version the decision creates. */
export type EventInput = {
  [S in Subject]: { subject: S; data: Omit<EventDataInput<S>, 'version'> };
}[Subject];

/** What a decision wants: the aggregate's next state and the events that announce it. */
export interface Decision<S> {
  /** The whole next state (`_id` and `version` are ignored: the store owns them). */
  state: S;
  /** Events published once the change is written, in this order. */
  events?: EventInput[];
}

/** Decides the next version from the current one (null: the aggregate does not exist); nothing to change: undefined. */
export type Decider<S> = (
  current: Versioned<S> | null,
) => Decision<S> | undefined | Promise<Decision<S> | undefined>;

/** What {@link AggregateStore.decide} did: the aggregate as it is now, and whether this call changed it. */
export interface Decided<S> {
  latest: Versioned<S> | null;
  changed: boolean;
}

/** What {@link AggregateStore.apply} did with a version of another aggregate. */
export type ApplyOutcome = 'applied' | 'duplicate';

/**
 * One version of an aggregate, inserted once: the claim on that version (its `_id` is unique), the history of
 * the aggregate, and the outbox of the events the change causes. See docs/ARCHITECTURE.md, "every change is one
 * insert".
 */
export interface ChangeDocument {
  /** `<aggregate id>:<version>`. */
  _id: string;
  aggregateId: string;
  version: number;
  /** The aggregate's whole state at this version. */
  state: Record<string, unknown>;
  /** The events of the change, in publishing order. */
  events: OutboxEvent[];
  /** On changes with events: the relay that publishes them and its epoch (what a recovery reads back). */
  writer?: string;
  /** When the change was written. */
  at: Date;
}

/** Options of {@link AggregateStore}. */
export interface StoreOptions {
  /**
   * Indexes of the head documents, for queries by other fields than `_id`. Never unique: the version claim is
   * the one invariant a store writes, and a head that a unique index refused would leave a change without head.
   */
  indexes?: Array<Record<string, 1 | -1>>;
  /**
   * Other replicas of the service may {@link AggregateStore.waitFor} its aggregates (a replica of another
   * service's aggregate that commands wait for, an order a client waits on): each change is announced to them
   * over core NATS. Without it, only waiters in the writing process are woken at once.
   */
  watched?: boolean;
}

/** What a store is wired to by the service runner. */
export interface StoreWiring {
  /** Publishes the events of changes (the service's relay). */
  outbox?: { claim(): OutboxClaim };
  /** Wakes {@link AggregateStore.waitFor} here and in the service's other replicas. */
  notices?: ChangeNotices;
  /** How old a change must be before others write its head for a writer that did not (default 2000 ms). */
  repairAfterMs?: number;
  /** Decisions tried before {@link ContentionError} (default 10). */
  maxAttempts?: number;
  /** Longest wait of {@link AggregateStore.waitFor} (default 3000 ms). */
  waitMs?: number;
}

type StoredHead = Record<string, unknown> & {
  _id: string;
  version: number;
  _applied?: Record<string, number>;
};

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

/** A state without the fields the store owns. */
function stateOf(head: Record<string, unknown>): Record<string, unknown> {
  const { _id, version, _applied, __v, ...state } = head;
  return state;
}

/** The notice key of a change to every aggregate of a store (an erasure rewrote them in place). */
const ALL_AGGREGATES = '*';

/** Heads a store keeps at hand for decisions (see `recent`). */
const RECENT_HEADS = 10_000;

/** How often a waiter reads again without a notice: a notice lost between replicas costs this much at most. */
const WAIT_RECHECK_MS = 500;

/**
 * Versioned aggregates whose every change is one insert (docs/ARCHITECTURE.md).
 *
 * Version v+1 is claimed by inserting the change document `<id>:<v+1>` into `<name>_changes`, holding the new
 * state and its events. A unique key is the one compare-and-set every Mongo-compatible server gets right
 * (FerretDB runs conditional updates as read-then-write), so of two writers of one version exactly one wins,
 * and the state change and its events are one single-document write: the transactional outbox without
 * transactions. The winner then writes the head (`<name>`, what queries read) and hands the events to the relay.
 * Only the winner of a version writes its head, and the winner of v+1 read the head at v, so heads move forward;
 * a head left behind by a writer that died is written by the next writer that meets it, or by the relay.
 */
export class AggregateStore<S extends object> {
  /** The head documents: one per aggregate, its latest version. */
  readonly heads: mongo.Collection<StoredHead>;
  /** Every version of every aggregate: claims, history and outbox. */
  readonly changes: mongo.Collection<ChangeDocument>;
  private readonly repairAfterMs: number;
  private readonly maxAttempts: number;
  private readonly waitMs: number;
  // Typed without S, so that a store of any state is an AggregateStore<object> to the relay and the runner.
  private readonly changeListeners: Array<(head: Versioned<object>) => void> = [];
  /**
   * The heads this process wrote or read for a decision lately. A decision may start from one: a head is only
   * ever cached once it is in the database, so it can be behind another writer's, never ahead; deciding on it
   * then loses the version claim and decides again on a fresh read. Plain reads never use it.
   */
  private readonly recent = new Map<string, StoredHead>();

  constructor(
    db: mongo.Db,
    /** Collection of the heads; the changes are in `<name>_changes`. */
    readonly name: string,
    private readonly options: StoreOptions = {},
    private readonly wiring: StoreWiring = {},
  ) {
    this.heads = db.collection<StoredHead>(name);
    this.changes = db.collection<ChangeDocument>(`${name}_changes`);
    this.repairAfterMs = wiring.repairAfterMs ?? 2000;
    this.maxAttempts = wiring.maxAttempts ?? 10;
    this.waitMs = wiring.waitMs ?? 3000;
    // Another replica rewrote documents of this store in place (an erasure): what this one cached is stale.
    wiring.notices?.watch(name, ALL_AGGREGATES, () => this.recent.clear());
  }

  /** Creates the indexes: the heads' own and an aggregate's history (the relay adds its own). */
  async init(): Promise<void> {
    await this.changes.createIndex({ aggregateId: 1 });
    for (const key of this.options.indexes ?? []) await this.heads.createIndex(key);
  }

  /** The aggregate `id` as its head shows it, or null. */
  async get(id: string): Promise<Versioned<S> | null> {
    const stored = await this.heads.findOne({ _id: id });
    return stored && this.visible(stored);
  }

  /**
   * The aggregate as this process last wrote or read it for a decision, else as its head shows it: a read that
   * may be behind another replica's latest write, never ahead of it. For deciding (pass it on as `current`),
   * not for answering what the aggregate is now.
   */
  async peek(id: string): Promise<Versioned<S> | null> {
    const stored = await this.read(id, true);
    return stored && this.visible(stored);
  }

  /** True once the aggregate was created, even if its writer has not written (or died before) its head. */
  async exists(id: string): Promise<boolean> {
    return (await this.changes.findOne({ _id: `${id}:0` }, { projection: { _id: 1 } })) !== null;
  }

  /** Heads matching `filter` (queries by other fields than `_id` need an index, see {@link StoreOptions}). */
  async find(
    filter: mongo.Filter<StoredHead>,
    options: mongo.FindOptions = {},
  ): Promise<Array<Versioned<S>>> {
    const found = await this.heads.find(filter, options).toArray();
    return found.map((stored) => this.visible(stored));
  }

  /**
   * Version `version` of the aggregate as that change wrote it, or null when it has no such version (yet). Read
   * from the change itself, so a version whose writer has not written (or died before) its head is seen too.
   */
  async at(id: string, version: number): Promise<Versioned<S> | null> {
    const change = await this.changes.findOne({ _id: `${id}:${version}` });
    return change && this.visible({ ...change.state, _id: id, version });
  }

  /** Every version of the aggregate, oldest first: what each change wrote, when, and the events it published. */
  async history(id: string): Promise<ChangeDocument[]> {
    const changes = await this.changes.find({ aggregateId: id }).toArray();
    return changes.sort((a, b) => a.version - b.version);
  }

  /**
   * Reads the aggregate, lets `decide` choose its next state and events, and writes them as the next version.
   * When another writer took that version first, it reads again and decides again (a few times, then
   * {@link ContentionError}); `decide` may therefore run more than once and must only decide, not act.
   */
  async decide(
    id: string,
    decide: Decider<S>,
    options: { current?: Versioned<S> | null } = {},
  ): Promise<Decided<S>> {
    for (let attempt = 1; ; attempt++) {
      // A head the caller read just before spares the first read; a stale one only costs a lost version.
      const stored =
        attempt === 1 && options.current !== undefined
          ? (options.current as StoredHead | null)
          : await this.read(id, attempt === 1);
      const current = stored && this.visible(stored);
      const decision = await decide(current);
      if (!decision) return { latest: current, changed: false };
      const version = (stored?.version ?? -1) + 1;
      const state = { ...stateOf(decision.state as Record<string, unknown>), ...applied(stored?._applied) };
      const head = await this.commit(id, version, state, decision.events ?? []);
      if (head) return { latest: head, changed: true };
      await this.afterLostVersion(id, version, attempt);
    }
  }

  /** Creates the aggregate at version 0 with its events; {@link AggregateExistsError} if `id` is taken. */
  async create(id: string, state: S, events: EventInput[] = []): Promise<Versioned<S>> {
    // A fresh id needs no read: the claim of version 0 is the check.
    const head = await this.commit(id, 0, stateOf(state as Record<string, unknown>), events);
    if (!head) throw new AggregateExistsError(id);
    return head;
  }

  /**
   * Creates the aggregate at version 0 unless it exists, and answers its latest version either way: what a
   * handler of a repeated event calls. A version 0 whose writer died between its change and its head (the claim
   * taken, nothing for queries to find) gets its head now, so a retry after that crash does not leave the
   * aggregate invisible.
   */
  async createOnce(
    id: string,
    state: S,
    events: EventInput[] = [],
  ): Promise<{ latest: Versioned<S>; created: boolean }> {
    try {
      return { latest: await this.create(id, state, events), created: true };
    } catch (error) {
      if (!(error instanceof AggregateExistsError)) throw error;
    }
    const latest = await this.get(id);
    if (latest) return { latest, created: false };
    const change = await this.changes.findOne({ _id: `${id}:0` });
    if (!change) throw new AggregateExistsError(id); // unreachable: the claim exists
    // Writing version 0's head again is harmless: an insert of an existing head is refused and ignored.
    await this.rollForward(change);
    return { latest: (await this.get(id))!, created: false };
  }

  /**
   * Applies version `source.version` of another aggregate only on top of version-1 (docs/ARCHITECTURE.md,
   * "Replicas"): once, in order, whatever order and however often the events arrive. 'duplicate' for a version applied already,
   * {@link OutOfOrderError} for one that comes before its predecessor (the listener holds it back).
   *
   * Without `into`, this store is a replica of that aggregate: same id, same versions, `evolve` gives the state
   * at the new version. With `into`, the version is recorded in aggregate `into` of this store, which `evolve`
   * changes as its next version (tickets follow the versions of each order that holds them).
   *
   * `effect` is work the version causes elsewhere that must be done before the version is recorded, given the
   * aggregate as it was before it: a redelivered event then finds its version unrecorded until the effect is
   * done, and a later version is held back until then. It runs again after a crash or a lost claim, so it must
   * be idempotent; once the version is recorded, a redelivery is a duplicate and does not run it.
   */
  async apply(
    source: { id: string; version: number },
    evolve: Decider<S>,
    options: { into?: string; effect?: (current: Versioned<S> | null) => Promise<void> } = {},
  ): Promise<ApplyOutcome> {
    const target = options.into ?? source.id;
    for (let attempt = 1; ; attempt++) {
      // Version 0 of a replica is its first version: its claim is the only check it needs.
      const firstOfReplica = attempt === 1 && !options.into && source.version === 0;
      const cached = attempt === 1 && !firstOfReplica ? this.recent.get(target) : undefined;
      const stored = firstOfReplica ? null : (cached ?? (await this.read(target, false)));
      const recorded = options.into ? stored?._applied?.[source.id] : stored?.version;
      const verdict: VersionVerdict = versionVerdict(recorded, source.version);
      if (verdict === 'duplicate') return 'duplicate';
      if (verdict === 'early' && cached) continue; // the cached head may only be behind: read it
      if (verdict === 'early') {
        // The head may be behind a change whose writer has not written it (or died): look before holding back.
        const behind =
          attempt < this.maxAttempts ? await this.catchUp(target, stored?.version ?? -1) : 'none';
        if (behind === 'pending') await this.pause(attempt);
        if (behind !== 'none') continue;
        throw new OutOfOrderError(recorded, source.version);
      }
      const current = stored && this.visible(stored);
      await options.effect?.(current);
      const decision = await evolve(current);
      const state = decision
        ? stateOf(decision.state as Record<string, unknown>)
        : current && stateOf(current);
      if (!state) return 'duplicate';
      const version = options.into ? (stored?.version ?? -1) + 1 : source.version;
      const record = options.into ? { _applied: { ...stored?._applied, [source.id]: source.version } } : {};
      const head = await this.commit(target, version, { ...state, ...record }, decision?.events ?? []);
      if (head) return 'applied';
      await this.afterLostVersion(target, version, attempt);
    }
  }

  /**
   * Resolves with the aggregate once `until` accepts it (by default: once it exists), or with what it is after
   * `timeoutMs`. Woken by every change of it, here or in another replica, not by polling.
   */
  async waitFor(
    id: string,
    until: (head: Versioned<S> | null) => boolean = (head) => head !== null,
    options: { timeoutMs?: number; current?: Versioned<S> | null } = {},
  ): Promise<Versioned<S> | null> {
    const deadline = Date.now() + (options.timeoutMs ?? this.waitMs);
    let head: Versioned<S> | null = options.current ?? null;
    // Heads only move forward: of two sights of the aggregate (a read, a notice), the newer one counts.
    const consider = (seen: Versioned<S> | null) => {
      if (seen && (!head || seen.version > head.version)) head = seen;
    };
    let stale = options.current === undefined;
    let notified = false;
    let wake = () => {};
    const stopWatching = this.wiring.notices?.watch(this.name, id, (written) => {
      // A change written here comes with its head; another replica's says only that there is one to read.
      if (written) consider(written as Versioned<S>);
      else stale = true;
      notified = true;
      wake();
    });
    // A change this process wrote between the caller's read and the watch above is in `recent`.
    const known = this.recent.get(id);
    if (known) consider(this.visible(known));
    try {
      for (;;) {
        notified = false;
        if (stale) {
          stale = false;
          consider(await this.get(id));
        }
        if (until(head)) return head;
        const left = deadline - Date.now();
        if (left <= 0) return head;
        if (notified) continue; // a notice came while this pass looked
        await new Promise<void>((resolve) => {
          const timer = setTimeout(
            () => {
              stale = true;
              resolve();
            },
            Math.min(left, WAIT_RECHECK_MS),
          );
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      stopWatching?.();
    }
  }

  /**
   * Erasure, the one exception to "every change is one insert": replaces `value` (a user id), wherever it
   * occurs as a value or a key, by `replacement` in the heads and the whole history of the aggregates whose
   * `paths` hold it (`userId`, or `cooldowns.*` for the keys of a map). History is rewritten in place, without a
   * new version; events already published keep what they said (what the bus holds is the streams' business).
   * Runs until a pass finds nothing left (a head written meanwhile from an older read is rewritten by the next
   * pass), and tells the service's other replicas to drop the heads they cached. Resolves with the documents
   * rewritten.
   */
  async rewrite(value: string, replacement: string, paths: readonly string[]): Promise<number> {
    const filter = (prefix: string) => ({
      $or: paths.map((path) =>
        path.endsWith('.*')
          ? { [`${prefix}${path.slice(0, -2)}.${value}`]: { $exists: true } }
          : { [`${prefix}${path}`]: value },
      ),
    });
    let rewritten = 0;
    for (let pass = 1; pass <= this.maxAttempts; pass++) {
      let found = 0;
      for (const change of await this.changes
        .find(filter('state.') as mongo.Filter<ChangeDocument>)
        .toArray()) {
        const next = replacedEverywhere(change, value, replacement);
        if (!next) continue;
        found++;
        await this.changes.replaceOne({ _id: change._id }, next);
      }
      for (const head of await this.heads.find(filter('') as mongo.Filter<StoredHead>).toArray()) {
        const next = replacedEverywhere(head, value, replacement);
        if (!next) continue;
        found++;
        // Only over the version read: a head that moved on is read again by the next pass.
        await this.heads.replaceOne({ _id: head._id, version: head.version }, next);
        this.recent.delete(head._id);
      }
      rewritten += found;
      if (found === 0) break;
    }
    this.recent.clear();
    this.wiring.notices?.changed(this.name, ALL_AGGREGATES, undefined, true);
    return rewritten;
  }

  /** Erasure: deletes the aggregate `id` with its whole history (an aggregate that is about one user only). */
  async forget(id: string): Promise<void> {
    await this.changes.deleteMany({ aggregateId: id });
    await this.heads.deleteOne({ _id: id });
    this.recent.delete(id);
    this.wiring.notices?.changed(this.name, ALL_AGGREGATES, undefined, true);
  }

  /**
   * Calls `listener` with the new head after every change this process writes (read models of the service's own
   * aggregates keep up with its writes at once; other replicas' writes reach them through the stream).
   */
  onChange(listener: (head: Versioned<S>) => void): void {
    this.changeListeners.push(listener as (head: Versioned<object>) => void);
  }

  /** Writes the head of `change` if it is behind, for a writer that did not (the relay and lost claims call it). */
  async rollForward(change: ChangeDocument): Promise<void> {
    await this.writeHead(change.aggregateId, change.version, change.state);
    this.recent.delete(change.aggregateId);
    this.wiring.notices?.changed(this.name, change.aggregateId, undefined, this.options.watched);
  }

  /** Inserts version `version`; null when another writer has it. Then the head, the relay, the waiters. */
  private async commit(
    id: string,
    version: number,
    state: Record<string, unknown>,
    inputs: EventInput[],
  ): Promise<Versioned<S> | null> {
    // Built (and validated) before the insert: an event that fails its schema fails the write, not the relay.
    const events = inputs.map((input) => newEvent(input.subject, { ...input.data, version }));
    const claim = events.length > 0 ? this.wiring.outbox?.claim() : undefined;
    const change: ChangeDocument = {
      _id: `${id}:${version}`,
      aggregateId: id,
      version,
      state,
      events,
      at: new Date(),
      ...(claim ? { writer: claim.writer } : {}),
    };
    try {
      await this.changes.insertOne(change);
    } catch (error) {
      claim?.abandoned();
      if (isDuplicateKey(error)) return null;
      throw error;
    }
    try {
      await this.writeHead(id, version, state);
    } finally {
      // Even without its head (the relay of whoever recovers writes it): the events are committed.
      claim?.written(this as AggregateStore<object>, change);
    }
    this.remember({ ...state, _id: id, version });
    const head = this.visible({ ...state, _id: id, version });
    this.wiring.notices?.changed(this.name, id, head, this.options.watched);
    for (const listener of this.changeListeners) listener(head);
    return head;
  }

  /** The head for a decision: the cached one when `cachedOk` and there is one, else the database's (cached). */
  private async read(id: string, cachedOk: boolean): Promise<StoredHead | null> {
    const cached = cachedOk ? this.recent.get(id) : undefined;
    if (cached) return cached;
    const stored = await this.heads.findOne({ _id: id });
    if (stored) this.remember(stored);
    return stored;
  }

  private remember(head: StoredHead): void {
    const known = this.recent.get(head._id);
    if (known && known.version > head.version) return;
    this.recent.delete(head._id);
    this.recent.set(head._id, head);
    if (this.recent.size > RECENT_HEADS) this.recent.delete(this.recent.keys().next().value!);
  }

  private async writeHead(id: string, version: number, state: Record<string, unknown>): Promise<void> {
    try {
      if (version === 0) {
        await this.heads.insertOne({ ...state, _id: id, version });
      } else {
        // Only over an older head. MongoDB makes this exact; FerretDB checks the filter just before its write,
        // and only a roll-forward racing a later writer could slip through that gap (see rollForward).
        await this.heads.replaceOne(
          { _id: id, version: { $lt: version } },
          { ...state, version },
          { upsert: true },
        );
      }
    } catch (error) {
      // The head exists at this version or a newer one already.
      if (!isDuplicateKey(error)) throw error;
    }
  }

  /**
   * After losing version `version`: if its winner died before writing the head (its change is older than any
   * live writer takes), write that head now; otherwise pause a little, growing with `attempt`, for the winner.
   */
  private async afterLostVersion(id: string, version: number, attempt: number): Promise<void> {
    if (attempt >= this.maxAttempts) throw new ContentionError(id, attempt);
    if ((await this.catchUp(id, version - 1)) !== 'rolled-forward') await this.pause(attempt);
  }

  /**
   * Looks for the change after version `headVersion`: written as the head now if its writer must have died
   * ('rolled-forward'), or left to its live writer ('pending'); 'none' when there is no such change.
   */
  private async catchUp(id: string, headVersion: number): Promise<'rolled-forward' | 'pending' | 'none'> {
    const next = await this.changes.findOne({ _id: `${id}:${headVersion + 1}` });
    if (!next) return 'none';
    if (Date.now() - new Date(next.at).getTime() < this.repairAfterMs) return 'pending';
    await this.rollForward(next);
    return 'rolled-forward';
  }

  private pause(attempt: number): Promise<void> {
    return sleep(Math.min(2 ** attempt, 50) * (0.5 + Math.random()));
  }

  /**
   * The head as callers see it: the versions of other aggregates it records stay on it, but out of sight (not
   * enumerable), so a decision built by spreading it neither shows nor copies them.
   */
  private visible(stored: StoredHead | Record<string, unknown>): Versioned<S> {
    const { _applied, ...head } = stored as StoredHead;
    if (_applied) Object.defineProperty(head, '_applied', { value: _applied, enumerable: false });
    return head as unknown as Versioned<S>;
  }
}

function applied(map: Record<string, number> | undefined): { _applied?: Record<string, number> } {
  return map ? { _applied: map } : {};
}
