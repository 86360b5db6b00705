/** Header names the bus puts on every event; `Nats-Msg-Id` is JetStream's own de-duplication key. */
export const EventHeaders = {
  /** Unique event id; JetStream drops a re-publish with the same id inside the duplicate window. */
  id: 'Nats-Msg-Id',
  /** The event's subject in the catalog, e.g. `ticket.created`. */
  type: 'Ticketing-Event-Type',
  /** Version of the payload schema. */
  schemaVersion: 'Ticketing-Schema-Version',
  /** Request id of the HTTP call that started the chain of work. */
  correlationId: 'Ticketing-Correlation-Id',
  /** When the state change that caused the event was written (ISO 8601). */
  occurredAt: 'Ticketing-Occurred-At',
} as const;

/** Extra headers on a dead-lettered message; the original headers and payload are kept unchanged beside them. */
export const DeadLetterHeaders = {
  /** The original event id (its `Nats-Msg-Id` is replaced, so the dead letter is not taken for a duplicate). */
  originalId: 'Ticketing-Dlq-Original-Id',
  /** Why the message was dead-lettered. */
  error: 'Ticketing-Dlq-Error',
  /** The service whose listener gave up. */
  service: 'Ticketing-Dlq-Service',
  /** The subject the message was published on. */
  subject: 'Ticketing-Dlq-Subject',
  /** The stream and sequence the message had there. */
  stream: 'Ticketing-Dlq-Stream',
  /** Sequence of the message in its stream. */
  streamSequence: 'Ticketing-Dlq-Stream-Seq',
  /** How many times it was delivered before giving up. */
  deliveryCount: 'Ticketing-Dlq-Delivery-Count',
} as const;
