import { setTimeout as sleep } from 'node:timers/promises';
import type { AggregateStore, ChangeDocument } from '@ticketing/common';

/**
 * The change that created version `version` of aggregate `id`, or null: the authority on that version even
 * before its writer has written the head. Its `_id` is `<aggregate id>:<version>` (see ChangeDocument).
 */
export function changeAt<T extends object>(
  store: AggregateStore<T>,
  id: string,
  version: number,
): Promise<ChangeDocument | null> {
  return store.changes.findOne({ _id: `${id}:${version}` });
}

/**
 * Called after losing version `version` of `id` to another writer, before reading the head again: rolls the
 * head forward if the winner died before writing it (and its change is old enough), otherwise pauses a
 * little, growing with `attempt`, since a live winner writes its head milliseconds after its claim.
 */
export async function afterLostVersion<T extends object>(
  store: AggregateStore<T>,
  id: string,
  version: number,
  attempt: number,
): Promise<void> {
  if (await store.repairHead(id, version)) return;
  await sleep(Math.min(5 * 2 ** attempt, 100));
}
