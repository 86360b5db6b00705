import { randomUUID } from 'node:crypto';
import type { Collection, Connection, Model } from 'mongoose';
import { OutOfOrderError } from '../events/errors';
import type { OutboxEvent } from '../outbox/event';
import { AggregateExistsError, VersionConflictError } from './errors';

/** One version of an aggregate: inserted once, the claim on that version and the outbox of its events. */
export interface ChangeDocument {
  /** `<aggregate id>:<version>`: the unique key that makes the insert a compare-and-set. */
  _id: string;
  /** The aggregate's id. */
  aggregateId: string;
  /** The version this change created. */
  version: number;
  /** The aggregate's full state at this version (without `_id` and `version`). */
  state: Record<string, unknown>;
  /** Events caused by the change, in publishing order. */
  events: OutboxEvent[];
  /** True once every event is acknowledged by JetStream and the head has caught up. */
  published: boolean;
  /** When the change was written. */
  at: Date;
}

/**
 * A marker of a change that may still have to be published: inserted before the change's claim, removed once the
 * change is published (or when its claim was lost). The relay reads these instead of the change history, which
 * only grows: on FerretDB every query that is not by `_id` reads the whole collection.
 */
export interface PendingMarker {
  /** `<change id>#<nonce>`: unique per writer, so writers of one version never contend on markers. */
  _id: string;
  /** The change it stands for. */
  changeId: string;
  /** The aggregate's id. */
  aggregateId: string;
  /** The change's version. */
  version: number;
  /** When the marker was written. */
  at: Date;
}

/** The head document of an aggregate as read back: its state, `_id` and `version`. */
export type Head<T> = T & { _id: unknown; version: number };

/** What {@link AggregateStore.applyVersion} did. */
export type ApplyOutcome = 'applied' | 'duplicate';

/** Options of {@link AggregateStore}. */
export interface AggregateStoreOptions {
  /**
   * How old a change must be before anyone rolls its head forward for a writer that did not finish, in ms
   * (default 5000). A live writer updates its head milliseconds after its claim; this only heals crashes.
   */
  repairAfterMs?: number;
}

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

function changeId(aggregateId: string, version: number): string {
  return `${aggregateId}:${version}`;
}

/** The state of a head without its identity, version and mongoose bookkeeping. */
function stateOf(head: Record<string, unknown>): Record<string, unknown> {
  const { _id, version, __v, ...state } = head;
  return state;
}

/**
 * Versioned aggregates whose every change is one insert (DESIGN.md rules 1, 2 and 4).
 *
 * Version v+1 of an aggregate is claimed by inserting the change document `<id>:<v+1>` — holding the new state
 * and the events it causes — into `<name>_changes`. A unique key is the one compare-and-set every
 * Mongo-compatible server gets right (FerretDB runs conditional updates as read-then-write), so two writers of
 * the same version cannot both win, and the state change and its events are one single-document write. The
 * winner then writes the head document (the model's collection, which queries read). Only the winner of a
 * version writes the head, and the winner of v+1 must have read the head at v, so heads never go back.
 * `OutboxRelay` publishes the change's events and rolls forward the head of a writer that crashed in between.
 */
export class AggregateStore<T extends object> {
  /** The change documents: claims, history and outbox. */
  readonly changes: Collection<ChangeDocument>;
  /** Markers of changes not yet published (small: what the relay reads). */
  readonly pending: Collection<PendingMarker>;
  private readonly repairAfterMs: number;

  constructor(
    /** The head documents (what queries read); `version` must be in its schema. */
    readonly model: Model<T & { version: number; _id?: unknown }>,
    options: AggregateStoreOptions = {},
  ) {
    const connection = model.db as Connection;
    this.changes = connection.collection<ChangeDocument>(`${model.collection.collectionName}_changes`);
    this.pending = connection.collection<PendingMarker>(`${model.collection.collectionName}_pending`);
    this.repairAfterMs = options.repairAfterMs ?? 5000;
  }

  /** Creates the indexes of what is queried by more than `_id` (on MongoDB; FerretDB reads collections whole). */
  async init(): Promise<void> {
    await this.changes.createIndex({ aggregateId: 1, version: 1 });
  }

  /** The change that created version `version` of an aggregate (what its writer decided, and when), or null. */
  async getChange(id: string, version: number): Promise<ChangeDocument | null> {
    return this.changes.findOne({ _id: changeId(id, version) });
  }

  /** Reads the head of an aggregate, or null. */
  async get(id: unknown): Promise<Head<T> | null> {
    return (await this.model.findById(id).lean()) as Head<T> | null;
  }

  /** Creates an aggregate at version 0 with its events; {@link AggregateExistsError} if the id is taken. */
  async create(id: string, state: T, events: OutboxEvent[] = []): Promise<Head<T>> {
    try {
      await this.insertChange(id, 0, state as Record<string, unknown>, events);
    } catch (error) {
      if (error instanceof VersionConflictError) throw new AggregateExistsError(id);
      throw error;
    }
    await this.writeHead(id, 0, state as Record<string, unknown>);
    return { ...state, _id: id, version: 0 } as Head<T>;
  }

  /**
   * Writes the next version of an aggregate read at `current.version`, with its events. Throws
   * {@link VersionConflictError} when someone else wrote that version first: re-read and decide again.
   */
  async update(current: Head<T>, changes: Partial<T>, events: OutboxEvent[] = []): Promise<Head<T>> {
    const id = String(current._id);
    const version = current.version + 1;
    const state = { ...stateOf(current as Record<string, unknown>), ...changes };
    await this.insertChange(id, version, state, events);
    await this.writeHead(id, version, state);
    return { ...state, _id: current._id, version } as Head<T>;
  }

  /**
   * Applies version `version` of an aggregate owned by another service to this replica, only on top of
   * version-1 (DESIGN.md): 'duplicate' for a version already applied, {@link OutOfOrderError} for a gap.
   */
  async applyVersion(
    id: string,
    version: number,
    state: T,
    events: OutboxEvent[] = [],
  ): Promise<ApplyOutcome> {
    const head = await this.get(id);
    const applied = head?.version;
    if (applied !== undefined && applied >= version) return 'duplicate';
    if ((applied ?? -1) !== version - 1) {
      // The change before may be claimed with its head not yet written (or its writer died): heal and retry.
      if (await this.repairHead(id, version - 1)) return this.applyVersion(id, version, state, events);
      throw new OutOfOrderError(applied, version);
    }
    try {
      await this.insertChange(id, version, state as Record<string, unknown>, events);
    } catch (error) {
      if (error instanceof VersionConflictError) return 'duplicate'; // a concurrent delivery won
      throw error;
    }
    await this.writeHead(id, version, state as Record<string, unknown>);
    return 'applied';
  }

  /**
   * Rolls the head forward to the change `<id>:<version>` if that change exists, is older than the repair
   * delay and the head is behind it. Resolves true when the head is (now) at or past that version.
   */
  async repairHead(id: string, version: number): Promise<boolean> {
    if (version < 0) return false;
    const change = await this.getChange(id, version);
    if (!change) return false;
    return this.catchUp(change);
  }

  /** Makes sure the head reflects `change` (used by the relay after publishing); true when it does. */
  async catchUp(change: ChangeDocument): Promise<boolean> {
    const head = await this.model.findById(change.aggregateId, { version: 1 }).lean<{ version: number }>();
    if (head && head.version >= change.version) return true;
    if (Date.now() - new Date(change.at).getTime() < this.repairAfterMs) return false;
    await this.writeHead(change.aggregateId, change.version, change.state);
    return true;
  }

  private async insertChange(
    id: string,
    version: number,
    state: Record<string, unknown>,
    events: OutboxEvent[],
  ) {
    const changeKey = changeId(id, version);
    const at = new Date();
    // The marker first: a change that exists always has one, so the relay cannot miss it, even if this process
    // dies right after the claim.
    const marker: PendingMarker = {
      _id: `${changeKey}#${randomUUID()}`,
      changeId: changeKey,
      aggregateId: id,
      version,
      at,
    };
    await this.pending.insertOne(marker);
    try {
      await this.changes.insertOne({
        _id: changeKey,
        aggregateId: id,
        version,
        state,
        events,
        published: false,
        at,
      });
    } catch (error) {
      await this.pending.deleteOne({ _id: marker._id }).catch(() => undefined); // a leftover is cleaned by the relay
      if (isDuplicateKey(error)) throw new VersionConflictError(id, version);
      throw error;
    }
  }

  private async writeHead(id: string, version: number, state: Record<string, unknown>): Promise<void> {
    try {
      // Only over an older head: a repair racing the next writer must not move the head back. MongoDB makes
      // this exact; FerretDB checks the filter before its write, which still shrinks the window to that gap.
      await this.model.replaceOne(
        { _id: id, version: { $lt: version } } as never,
        { ...state, version } as never,
        {
          upsert: true,
        },
      );
    } catch (error) {
      // The upsert met the head with the same _id: it is at this version or newer already.
      if (!isDuplicateKey(error)) throw error;
    }
    // Tell the relay: the change's events can go now (see OutboxRelay's `writes`).
    (this.model.db as Connection).emit(AGGREGATE_WRITE_EVENT);
  }
}

/** Emitted on the connection after each committed change: the relay's cue to publish now. */
export const AGGREGATE_WRITE_EVENT = 'ticketing:aggregate-write';
