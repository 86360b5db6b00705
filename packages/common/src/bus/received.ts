import type { MsgHdrs } from '@nats-io/nats-core';
import type { EventData, Subject } from '../events/catalog';
import { EventSchemaError } from '../events/errors';
import { parseEventData, schemaVersionOf } from '../events/validate';
import { EventHeaders } from './headers';

/** What a handler knows about the message besides its payload. */
export interface EventMeta {
  /** Event id (`Nats-Msg-Id`). */
  id: string;
  /** The subject it was published on. */
  subject: Subject;
  /** The stream that holds it. */
  stream: string;
  /** Correlation id of the chain of work; also set on the context of the handler. */
  correlationId: string;
  /** When the state change that caused it was written (from the header; publish time when absent). */
  occurredAt: Date;
  /** 1 on first delivery. */
  deliveryCount: number;
  /** Sequence in the stream. */
  streamSequence: number;
}

/** A stream message as both a consumer's delivery and a direct read of the stream give it. */
export interface RawStreamMessage {
  stream: string;
  seq: number;
  /** When the stream stored it. */
  time: Date;
  headers?: MsgHdrs;
  text: string;
  deliveryCount?: number;
}

/** A stream message of a subject: its payload validated (upcast to the current schema) with its meta, or why not. */
export type ReceivedEvent<S extends Subject> =
  | { data: EventData<S>; meta: EventMeta }
  | { poison: string; meta: EventMeta };

/** The meta of a stream message of `subject`. */
export function eventMetaOf(subject: Subject, message: RawStreamMessage): EventMeta {
  const { headers, stream, seq } = message;
  const occurredAt = headers?.get(EventHeaders.occurredAt);
  return {
    id: headers?.get(EventHeaders.id) || `${stream}:${seq}`,
    subject,
    stream,
    correlationId: headers?.get(EventHeaders.correlationId) || `${stream}:${seq}`,
    occurredAt: occurredAt ? new Date(occurredAt) : message.time,
    deliveryCount: message.deliveryCount ?? 1,
    streamSequence: seq,
  };
}

/**
 * Reads a stream message of `subject` the way every consumer does: JSON, in the schema version its header names,
 * upcast and checked against the catalog. Bad JSON and schema failures come back as `poison`, with the reason.
 */
export function receiveEvent<S extends Subject>(subject: S, message: RawStreamMessage): ReceivedEvent<S> {
  const meta = eventMetaOf(subject, message);
  try {
    const version = schemaVersionOf(message.headers?.get(EventHeaders.schemaVersion));
    return { data: parseEventData(subject, JSON.parse(message.text), version), meta };
  } catch (error) {
    const reason =
      error instanceof EventSchemaError ? error.message : `malformed JSON: ${(error as Error).message}`;
    return { poison: reason, meta };
  }
}
