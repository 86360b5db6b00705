import { type ConsumerMessages, DeliverPolicy } from '@nats-io/jetstream';
import type { StreamName, Subject } from '../events/catalog';
import type { Logger } from '../logging';
import type { Bus } from './bus';

/** A message of a followed stream. */
export interface FollowedMessage {
  subject: string;
  /** Its sequence in the stream. */
  seq: number;
  /** The parsed JSON payload (not validated: readers of the past meet every schema version). */
  data: unknown;
}

/** Options of {@link followStream}. */
export interface FollowOptions {
  stream: Exclude<StreamName, 'DLQ'>;
  /** Only these subjects (default: all of the stream). */
  subjects?: Subject[];
  /** First sequence to read (default: the stream's first). */
  fromSeq?: number;
  /** Called for each message in stream order; a throw is logged and the message skipped. */
  onMessage(message: FollowedMessage): void;
  logger: Logger;
}

/** A running {@link followStream}. */
export interface StreamFollower {
  /** Stops reading. */
  stop(): Promise<void>;
}

/**
 * Reads a stream in order, from a sequence on, as it grows: an ordered consumer (ephemeral, no acks, recreated
 * by the client after a disconnect from where it was), for read models and live feeds that follow history
 * rather than share work.
 */
export async function followStream(bus: Bus, options: FollowOptions): Promise<StreamFollower> {
  const consumer = await bus.js.consumers.get(options.stream, {
    ...(options.subjects ? { filter_subjects: options.subjects } : {}),
    ...(options.fromSeq
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.fromSeq }
      : { deliver_policy: DeliverPolicy.All }),
  });
  const messages: ConsumerMessages = await consumer.consume();
  const loop = (async () => {
    for await (const msg of messages) {
      try {
        options.onMessage({ subject: msg.subject, seq: msg.seq, data: msg.json() });
      } catch (error) {
        options.logger.warn({ err: error, stream: options.stream, seq: msg.seq }, 'followed message skipped');
      }
    }
  })();
  return {
    async stop() {
      await messages.close();
      await loop;
    },
  };
}
