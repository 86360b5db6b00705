import type { Model, UpdateQuery } from 'mongoose';
import { OutOfOrderError } from './errors';

/** What {@link applyInOrder} did. */
export type ReplicaOutcome = 'applied' | 'duplicate';

/** Options of {@link applyInOrder}. */
export interface ApplyInOrderOptions<T> {
  /** The aggregate's id (the replica document's `_id`). */
  id: string;
  /** Version carried by the event. */
  version: number;
  /** Fields the event sets on the replica. */
  set: Partial<T>;
  /** More update operators in the same single-document write, e.g. `pushEvents(...)` for a reaction. */
  also?: UpdateQuery<T>;
}

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

/**
 * Applies an event to a version-tracking replica document (DESIGN.md: version v only on top of v-1), in one
 * conditional write. Resolves 'duplicate' for an old or repeated version (nothing changes); throws
 * {@link OutOfOrderError} when an earlier version has not been applied yet, so the listener holds it back.
 */
export async function applyInOrder<T extends { version: number }>(
  model: Model<T>,
  options: ApplyInOrderOptions<T>,
): Promise<ReplicaOutcome> {
  const { id, version, set } = options;
  const also: UpdateQuery<T> = options.also ?? {};
  if (version === 0) {
    try {
      await model.create({ ...set, ...(also.$set ?? {}), _id: id, version: 0 });
      return 'applied';
    } catch (error) {
      if (isDuplicateKey(error)) return 'duplicate';
      throw error;
    }
  }
  const { $set: alsoSet, ...otherOperators } = also;
  const result = await model.updateOne(
    { _id: id, version: version - 1 } as never,
    { ...otherOperators, $set: { ...(alsoSet ?? {}), ...set, version } } as never,
  );
  if (result.modifiedCount === 1) return 'applied';
  const current = await model.findById(id, { version: 1 }).lean<{ version: number }>();
  if (current && current.version >= version) return 'duplicate';
  throw new OutOfOrderError(current?.version, version);
}
