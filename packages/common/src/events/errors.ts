/** A payload does not match its subject's schema; the message names each bad field. */
export class EventSchemaError extends Error {
  override readonly name = 'EventSchemaError';
  /** Stable code for callers and logs. */
  readonly code = 'EVENT_SCHEMA_INVALID';
  constructor(
    /** The subject whose schema failed. */
    readonly subject: string,
    /** One line per problem: `field: why`. */
    readonly problems: string[],
  ) {
    super(`${subject} payload invalid: ${problems.join('; ')}`);
  }
}

/**
 * Thrown by a handler when an event arrived before another event it depends on was applied (an earlier version
 * of its aggregate, or the event that frees what it needs). The listener holds it back (nak with a delay)
 * instead of treating it as a failure.
 */
export class OutOfOrderError extends Error {
  override readonly name = 'OutOfOrderError';
  /** Stable code for callers and logs. */
  readonly code = 'EVENT_OUT_OF_ORDER';
  constructor(
    /** Version this replica has applied, or undefined when it has not seen the aggregate yet. */
    readonly appliedVersion: number | undefined,
    /** Version of the event that arrived. */
    readonly incomingVersion: number,
    /** What it waits for, when that is not simply the previous version. */
    reason?: string,
  ) {
    super(reason ?? `event version ${incomingVersion} arrived early (applied: ${appliedVersion ?? 'none'})`);
  }
}

/** Thrown by a handler for a message that can never succeed: it goes to the dead-letter stream at once. */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
  /** Stable code for callers and logs. */
  readonly code = 'EVENT_POISON';
}
