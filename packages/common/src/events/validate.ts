import type { z } from 'zod';
import { type EventData, eventCatalog, type Subject } from './catalog';
import { EventSchemaError } from './errors';

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map(
    (issue) => `${issue.path.length ? issue.path.join('.') : '(payload)'}: ${issue.message}`,
  );
}

/** Parses `value` against the subject's schema; throws {@link EventSchemaError} naming each bad field. */
export function parseEventData<S extends Subject>(subject: S, value: unknown): EventData<S> {
  const result = eventCatalog[subject].schema.safeParse(value);
  if (!result.success) throw new EventSchemaError(subject, describeIssues(result.error));
  return result.data as EventData<S>;
}
