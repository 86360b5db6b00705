import { createHmac } from 'node:crypto';
import type { mongo } from 'mongoose';
import { on, type Subscription } from '../bus/listener';
import type { AggregateStore } from '../store/aggregate-store';

/**
 * The anonymous id that stands for an erased user: the same in every service (they share the secret), not
 * computable from the id without it, and an ObjectId in shape so that the money facts kept under it still pass
 * every schema.
 */
export function pseudonymOf(userId: string, secret: string): string {
  return createHmac('sha256', secret).update(`erased user ${userId}`).digest('hex').slice(0, 24);
}

/** What a service holds about a user: stores where the id appears (`paths`, see `rewrite`), or aggregates of one user. */
export interface UserData {
  /** The id is replaced by its pseudonym, heads and history alike. */
  pseudonymize?: ReadonlyArray<{ store: AggregateStore<object>; paths: readonly string[] }>;
  /** Stores whose aggregate id is the user id: deleted with their history. */
  forget?: ReadonlyArray<AggregateStore<object>>;
  /** Plain collections (not aggregates) whose `field` holds the id: it is replaced by the pseudonym. */
  records?: ReadonlyArray<{ collection: mongo.Collection; field: string }>;
}

/**
 * The subscription table entry of erasure: on `user.deleted`, forgets or pseudonymizes what the service holds
 * about that user. Running it again finds nothing left to change. A replay of history runs it too, after the
 * replicas are rebuilt, so that a rebuilt replica is erased like the live one.
 */
export function forgetUser(secret: string, data: UserData): Subscription<'user.deleted'> {
  const forget = async ({ id }: { id: string }) => {
    const pseudonym = pseudonymOf(id, secret);
    for (const { store, paths } of data.pseudonymize ?? []) await store.rewrite(id, pseudonym, paths);
    for (const store of data.forget ?? []) await store.forget(id);
    for (const { collection, field } of data.records ?? [])
      await collection.updateMany({ [field]: id }, { $set: { [field]: pseudonym } });
  };
  return { ...on('user.deleted', forget), replay: forget };
}
