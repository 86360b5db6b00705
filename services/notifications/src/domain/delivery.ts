import { createHash } from 'node:crypto';
import { type AggregateStore, type Decision, dueSlotOf, type Versioned } from '@ticketing/common';
import type { AttemptResult } from '../delivery/sender';
import type { WebhookEventType } from './webhooks';

/** `pending` until a 2xx (`delivered`) or until it is older than the max age (`failed`, dead-lettered). */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** What is POSTed: the same body on every attempt. */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  createdAt: string;
  data: Record<string, unknown>;
}

/**
 * The delivery of one event to one endpoint. Its id is derived from both, so creating it is the claim that
 * there is only one, however often the event arrives and whichever replica sees it.
 */
export interface DeliveryState {
  endpointId: string;
  userId: string;
  event: WebhookEvent;
  /** When the event happened: an endpoint's deliveries go out in this order. */
  occurredAt: Date;
  /** The stream sequence of the event that caused it: the order of events within one millisecond. */
  sequence: number;
  status: DeliveryStatus;
  attempts: number;
  /** When the next attempt may start; an attempt in flight pushes it out by a claim's length. */
  nextAttemptAt: Date;
  /** The slot of `nextAttemptAt` (see DueScheduler). */
  dueSlot: number;
  /** Retried until this moment, then failed. */
  giveUpAt: Date;
  lastStatusCode?: number;
  lastError?: string;
  /** At most 1 KB of the last response body. */
  lastResponseBody?: string;
  lastDurationMs?: number;
  deliveredAt?: Date;
}

export type Delivery = Versioned<DeliveryState>;
export type DeliveryStore = AggregateStore<DeliveryState>;

/** The id of the delivery of `eventId` to `endpointId`: 24 hex characters. */
export function deliveryIdOf(endpointId: string, eventId: string): string {
  return createHash('sha256').update(`${endpointId}\n${eventId}`).digest('hex').slice(0, 24);
}

/** The id of the webhook event `type` caused by `cause` (a bus event id, or an order for order.expiring). */
export function webhookEventIdOf(type: WebhookEventType, cause: string): string {
  return `evt_${createHash('sha256').update(`${type}\n${cause}`).digest('hex').slice(0, 24)}`;
}

export function newDelivery(
  endpointId: string,
  userId: string,
  event: WebhookEvent,
  sequence: number,
  now: Date,
  maxAgeMs: number,
): DeliveryState {
  return {
    endpointId,
    userId,
    event,
    occurredAt: new Date(event.createdAt),
    sequence,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    dueSlot: dueSlotOf(now),
    giveUpAt: new Date(now.getTime() + maxAgeMs),
  };
}

/** Seconds to wait after failed attempt `attempt` (1-based): the schedule's entry, the last one repeating. */
export function retryDelayMs(schedule: number[], attempt: number, random = Math.random): number {
  const seconds = schedule[Math.min(attempt, schedule.length) - 1]!;
  // ±20 %: endpoints that failed together do not come back all at once.
  return Math.round(seconds * 1000 * (0.8 + 0.4 * random()));
}

/** Claims the next attempt: only when it is due; the claim lasts `claimMs`, after which another may try. */
export function claimAttempt(
  delivery: Delivery | null,
  now: Date,
  claimMs: number,
): Decision<DeliveryState> | undefined {
  if (delivery?.status !== 'pending' || delivery.nextAttemptAt.getTime() > now.getTime()) {
    return undefined;
  }
  const until = new Date(now.getTime() + claimMs);
  return {
    state: { ...delivery, attempts: delivery.attempts + 1, nextAttemptAt: until, dueSlot: dueSlotOf(until) },
  };
}

/** Records an attempt's result: delivered, retried at `retryAt`, or failed once past its age. */
export function recordAttempt(
  delivery: Delivery,
  result: AttemptResult,
  now: Date,
  retryAt: Date,
): Decision<DeliveryState> {
  const last = {
    lastStatusCode: result.statusCode,
    lastError: result.error,
    lastResponseBody: result.responseBody,
    lastDurationMs: result.durationMs,
  };
  if (result.ok) return { state: { ...delivery, ...last, status: 'delivered', deliveredAt: now } };
  if (retryAt.getTime() > delivery.giveUpAt.getTime())
    return { state: { ...delivery, ...last, status: 'failed' } };
  return { state: { ...delivery, ...last, nextAttemptAt: retryAt, dueSlot: dueSlotOf(retryAt) } };
}

/** Gives a delivery a fresh run of attempts, starting now (the owner asked for it). */
export function redeliver(delivery: Delivery, now: Date, maxAgeMs: number): Decision<DeliveryState> {
  return {
    state: {
      ...delivery,
      status: 'pending',
      nextAttemptAt: now,
      dueSlot: dueSlotOf(now),
      giveUpAt: new Date(now.getTime() + maxAgeMs),
    },
  };
}
