/** Another writer changed the aggregate since it was read: the caller re-reads and decides again (HTTP: 409). */
export class VersionConflictError extends Error {
  override readonly name = 'VersionConflictError';
  /** Stable code for callers and logs. */
  readonly code = 'VERSION_CONFLICT';
  constructor(
    /** The aggregate's id. */
    readonly aggregateId: string,
    /** The version the writer tried to create. */
    readonly version: number,
  ) {
    super(`${aggregateId} was changed concurrently (version ${version} already exists)`);
  }
}

/** An aggregate with this id exists already. */
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
