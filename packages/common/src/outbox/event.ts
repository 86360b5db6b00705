import { randomUUID } from 'node:crypto';
import { correlationIdOrNew } from '../context';
import { type EventData, eventCatalog, type Subject } from '../events/catalog';
import { parseEventData } from '../events/validate';
import { traceparentField } from '../tracing';

/** An event waiting to be published: what an aggregate's `outbox` array holds. */
export interface OutboxEvent<S extends Subject = Subject> {
  /** Unique event id, sent as `Nats-Msg-Id`. */
  id: string;
  /** Subject of the catalog. */
  subject: S;
  /** The validated payload. */
  data: EventData<S>;
  /** Correlation id of the work that caused it. */
  correlationId: string;
  /** When the state change was written. */
  occurredAt: Date;
  /** W3C trace context of the work that caused it, sent as the `traceparent` header (absent when untraced). */
  traceparent?: string;
  /** The schema version `data` was written in (absent on events written before versions were recorded: 1). */
  schemaVersion?: number;
}

/** Options of {@link newEvent}. */
export interface NewEventOptions {
  /** Event id; fresh by default. */
  id?: string;
  /** Correlation id; the current work's by default. */
  correlationId?: string;
}

/**
 * Builds an event, validating its payload now: an invalid event must fail the write that causes it,
 * not sit in an outbox that can never be published.
 */
export function newEvent<S extends Subject>(
  subject: S,
  data: unknown,
  options: NewEventOptions = {},
): OutboxEvent<S> {
  return {
    id: options.id ?? randomUUID(),
    subject,
    data: parseEventData(subject, data),
    correlationId: options.correlationId ?? correlationIdOrNew(),
    occurredAt: new Date(),
    ...traceparentField(),
    schemaVersion: eventCatalog[subject].schemaVersion,
  };
}
