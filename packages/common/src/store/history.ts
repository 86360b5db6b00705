import { z } from 'zod';
import { versionSchema } from '../events/catalog';
import type { ChangeDocument } from './aggregate-store';

const eventRefSchema = z
  .object({ subject: z.string(), id: z.string() })
  .strict()
  .meta({ description: 'An event the version published: its subject and id (`Nats-Msg-Id`)' });

/** The schema of an aggregate's history as an API answers it; `changes` describes what one version sets. */
export function versionHistorySchema<C extends z.ZodType>(changes: C) {
  return z
    .array(
      z
        .object({
          version: versionSchema,
          at: z.iso.datetime().meta({ description: 'When the version was written' }),
          changes: changes.meta({
            description: 'The fields this version changed, with their new values (every field at version 0)',
          }),
          event: eventRefSchema
            .nullable()
            .meta({ description: 'The event the version published; null for a version that published none' }),
          events: z.array(eventRefSchema).meta({ description: 'Every event it published, in order' }),
        })
        .strict(),
    )
    .meta({ description: 'The versions, oldest first' });
}

/** One version of {@link versionHistory}. */
export interface VersionEntry {
  version: number;
  at: string;
  changes: Record<string, unknown>;
  event: { subject: string; id: string } | null;
  events: Array<{ subject: string; id: string }>;
}

/**
 * An aggregate's versions from its change log (`store.history(id)`), oldest first: the fields each one changed
 * as `view` shows a state (undefined fields left out), when, and the events it published.
 */
export function versionHistory<S>(
  changes: ChangeDocument[],
  view: (state: S) => Record<string, unknown>,
): VersionEntry[] {
  let previous: Record<string, unknown> | undefined;
  return changes.map((change) => {
    const fields = view(change.state as S);
    const changed = Object.entries(fields).filter(
      ([field, value]) => value !== undefined && (!previous || previous[field] !== value),
    );
    const events = change.events.map((event) => ({ subject: event.subject, id: event.id }));
    previous = fields;
    return {
      version: change.version,
      at: new Date(change.at).toISOString(),
      changes: Object.fromEntries(changed),
      event: events[0] ?? null,
      events,
    };
  });
}
