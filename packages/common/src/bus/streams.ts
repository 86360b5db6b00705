import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { type StreamName, streamNames, streamSubjects } from '../events/catalog';
import type { Logger } from '../logging';

/** Options of {@link ensureStreams}. */
export interface StreamOptions {
  /** Replicas per stream: 1 on a single server, 3 on a production cluster. */
  replicas?: number;
  /** JetStream's duplicate window in ms: a re-publish of an event id inside it is dropped (default 10 min). */
  duplicateWindowMs?: number;
}

/** The configuration of one stream: file storage, limits retention (history stays replayable), duplicate window. */
export function streamConfig(
  name: StreamName,
  options: StreamOptions = {},
): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects: streamSubjects(name),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    num_replicas: options.replicas ?? 1,
    duplicate_window: nanos(options.duplicateWindowMs ?? 10 * 60_000),
  };
}

function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}

async function ensureStream(jsm: JetStreamManager, name: StreamName, options: StreamOptions, logger: Logger) {
  const config = streamConfig(name, options);
  try {
    await jsm.streams.info(name);
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    try {
      await jsm.streams.add(config);
      logger.info({ stream: name }, 'stream created');
      return;
    } catch (addError) {
      // Another replica created it between our look-up and our add: fall through to the update.
      if (!(addError instanceof JetStreamApiError)) throw addError;
    }
  }
  await jsm.streams.update(name, config);
}

/** Creates or updates every stream; idempotent and safe when several services run it at once. */
export async function ensureStreams(
  jsm: JetStreamManager,
  logger: Logger,
  options: StreamOptions = {},
): Promise<void> {
  for (const name of streamNames) await ensureStream(jsm, name, options, logger);
}
