/** An aggregate with this id exists already (a second `create` of one id). */
export class AggregateExistsError extends Error {
  override readonly name = 'AggregateExistsError';
  /** Stable code for callers and logs. */
  readonly code = 'AGGREGATE_EXISTS';
  constructor(
    /** The aggregate's id. */
    readonly aggregateId: string,
  ) {
    super(`${aggregateId} exists already`);
  }
}

/**
 * Other writers kept winning the next version of an aggregate while this one decided, more times than the store
 * retries. A listener's message is redelivered later; an HTTP request answers 409.
 */
export class ContentionError extends Error {
  override readonly name = 'ContentionError';
  /** Stable code for callers and logs. */
  readonly code = 'AGGREGATE_CONTENTION';
  constructor(
    /** The aggregate's id. */
    readonly aggregateId: string,
    /** Decisions tried, each lost to another writer. */
    readonly attempts: number,
  ) {
    super(`${aggregateId} kept changing under ${attempts} attempts to change it`);
  }
}
