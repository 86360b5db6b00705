import type { z } from 'zod';
import { type EventData, eventCatalog, type Subject } from './catalog';
import { EventSchemaError } from './errors';

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map(
    (issue) => `${issue.path.length ? issue.path.join('.') : '(payload)'}: ${issue.message}`,
  );
}

/**
 * Parses `value`, a payload of schema version `schemaVersion` (default: the current one), against the subject's
 * schema: an older version is first upcast, one version at a time, by the catalog's upcasters. Throws
 * {@link EventSchemaError} naming each bad field, or the version this code does not know (a newer publisher).
 */
export function parseEventData<S extends Subject>(
  subject: S,
  value: unknown,
  schemaVersion?: number,
): EventData<S> {
  const definition = eventCatalog[subject];
  let payload = value;
  const from = schemaVersion ?? definition.schemaVersion;
  if (!Number.isInteger(from) || from < 1 || from > definition.schemaVersion) {
    throw new EventSchemaError(subject, [
      `schema version ${from} is not one this consumer reads (1 to ${definition.schemaVersion})`,
    ]);
  }
  for (let version = from; version < definition.schemaVersion; version++) {
    const upcast = definition.upcasters?.[version];
    if (!upcast) throw new EventSchemaError(subject, [`no upcaster from schema version ${version}`]);
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) break; // the schema says why
    payload = upcast(payload as Record<string, unknown>);
  }
  const result = definition.schema.safeParse(payload);
  if (!result.success) throw new EventSchemaError(subject, describeIssues(result.error));
  return result.data as EventData<S>;
}

/** The schema version a message's header names; a message without one was published before versions were sent. */
export function schemaVersionOf(header: string | undefined): number {
  if (header === undefined || header === '') return 1;
  return /^\d+$/.test(header) ? Number(header) : Number.NaN;
}
