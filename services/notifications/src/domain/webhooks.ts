import { randomBytes } from 'node:crypto';
import type { AggregateStore, Decision, Versioned } from '@ticketing/common';

/** The events a user can subscribe an endpoint to, and whose they are. */
export const webhookEventTypes = [
  'ticket.reserved',
  'ticket.sold',
  'ticket.relisted',
  'order.created',
  'order.completed',
  'order.cancelled',
  'order.expiring',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** `active` is sent to; `paused` failed for long and is only probed until it answers again. */
export type EndpointStatus = 'active' | 'paused';

/** One registered endpoint. */
export interface Endpoint {
  id: string;
  url: string;
  events: WebhookEventType[];
  /** HMAC key of its signatures; shown to its owner once, at registration. */
  secret: string;
  status: EndpointStatus;
  createdAt: Date;
  /** Start of the current run of failed attempts (none since the last success). */
  failingSince?: Date;
  pausedAt?: Date;
}

/**
 * A user's webhooks, one aggregate per user (`_id` = user id): registering is a decision on it, so the
 * per-user limit holds across replicas, and fanning an event out is one read.
 */
export interface WebhookAccount {
  endpoints: Endpoint[];
}

export type Account = Versioned<WebhookAccount>;
export type AccountStore = AggregateStore<WebhookAccount>;

/** 24 hex characters, like every id of the system. */
export function newId(): string {
  return randomBytes(12).toString('hex');
}

/** Registers an endpoint; undefined when the user already has `limit`. */
export function register(
  account: Account | null,
  endpoint: Pick<Endpoint, 'url' | 'events'>,
  limit: number,
  now: Date,
): Decision<WebhookAccount> | undefined {
  const endpoints = account?.endpoints ?? [];
  if (endpoints.length >= limit) return undefined;
  const added: Endpoint = {
    id: newId(),
    url: endpoint.url,
    events: [...new Set(endpoint.events)],
    secret: `whsec_${randomBytes(24).toString('hex')}`,
    status: 'active',
    createdAt: now,
  };
  return { state: { endpoints: [...endpoints, added] } };
}

/** Removes endpoint `id`; undefined when there is none. */
export function remove(account: Account | null, id: string): Decision<WebhookAccount> | undefined {
  const endpoints = account?.endpoints ?? [];
  if (!endpoints.some((endpoint) => endpoint.id === id)) return undefined;
  return { state: { endpoints: endpoints.filter((endpoint) => endpoint.id !== id) } };
}

/** After an attempt: a success clears the failure run and resumes; a failure long enough pauses. */
export function afterAttempt(
  account: Account | null,
  id: string,
  ok: boolean,
  now: Date,
  pauseAfterMs: number,
): Decision<WebhookAccount> | undefined {
  const endpoint = account?.endpoints.find((e) => e.id === id);
  if (!account || !endpoint) return undefined;
  let next: Endpoint;
  if (ok) {
    if (endpoint.status === 'active' && !endpoint.failingSince) return undefined;
    const { failingSince, pausedAt, ...rest } = endpoint;
    next = { ...rest, status: 'active' };
  } else {
    const failingSince = endpoint.failingSince ?? now;
    const pause = endpoint.status === 'active' && now.getTime() - failingSince.getTime() >= pauseAfterMs;
    if (endpoint.failingSince && !pause) return undefined;
    next = { ...endpoint, failingSince, ...(pause ? { status: 'paused' as const, pausedAt: now } : {}) };
  }
  return { state: { endpoints: account.endpoints.map((e) => (e.id === id ? next : e)) } };
}
