import type { Env, EventData } from '@ticketing/common';
import { type MongoHandle, type NatsServerHandle, objectId, serviceTestEnv } from '@ticketing/testing';

/** The environment of an expiration instance on these servers. */
export function expirationEnv(nats: NatsServerHandle, mongo: MongoHandle, overrides: Env = {}): Env {
  return serviceTestEnv({ nats, mongo }, overrides);
}

/** A valid `order.created` payload expiring at `expiresAt`. */
export function orderCreated(expiresAt: Date): EventData<'order.created'> {
  return {
    id: objectId(),
    version: 0,
    userId: objectId(),
    status: 'created',
    expiresAt: expiresAt.toISOString(),
    ticket: { id: objectId(), price: 20 },
  };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
