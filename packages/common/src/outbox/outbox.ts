import { Schema } from 'mongoose';
import type { OutboxEvent } from './event';

/** The mongoose sub-schema of one outbox entry. */
const outboxEntrySchema = new Schema<OutboxEvent>(
  {
    id: { type: String, required: true },
    subject: { type: String, required: true },
    data: { type: Schema.Types.Mixed, required: true },
    correlationId: { type: String, required: true },
    occurredAt: { type: Date, required: true },
  },
  { _id: false, minimize: false },
);

/** Emitted on a model's connection after a write through the model: the relay's cue to run a pass now. */
export const OUTBOX_WRITE_EVENT = 'ticketing:outbox-write';

/** The field of an aggregate document that holds its unpublished events, oldest first. */
export const OUTBOX_FIELD = 'outbox';

/** Fields an aggregate gains from {@link outboxPlugin}. */
export interface WithOutbox {
  /** Events written with the aggregate's last changes and not yet acknowledged by JetStream. */
  outbox: OutboxEvent[];
}

/**
 * Mongoose plugin: gives an aggregate an `outbox` array, so a state change and the events it causes are
 * one single-document write (DESIGN.md reliability rule 1). The field is hidden from `toJSON`.
 */
export function outboxPlugin(schema: Schema): void {
  schema.add({ [OUTBOX_FIELD]: { type: [outboxEntrySchema], default: [] } });
  // Writes through the model tell the relay at once, so events leave right after the write, not on the timer.
  schema.post('save', function (this: { db?: { emit(event: string): void } }) {
    this.db?.emit(OUTBOX_WRITE_EVENT);
  });
  schema.post(
    ['updateOne', 'findOneAndUpdate', 'updateMany'],
    function (this: { model?: { db?: { emit(event: string): void } } }) {
      this.model?.db?.emit(OUTBOX_WRITE_EVENT);
    },
  );
  schema.post('insertMany', function (this: { db?: { emit(event: string): void } }) {
    this.db?.emit(OUTBOX_WRITE_EVENT);
  });
  const previous = schema.get('toJSON') ?? {};
  const previousTransform = typeof previous.transform === 'function' ? previous.transform : undefined;
  schema.set('toJSON', {
    ...previous,
    transform(doc: unknown, ret: Record<string, unknown>, options: unknown) {
      delete ret[OUTBOX_FIELD];
      return previousTransform ? previousTransform(doc as never, ret as never, options as never) : ret;
    },
  });
}

/** The update operator that appends events to an aggregate's outbox, to combine with the state change. */
export function pushEvents(...events: OutboxEvent[]): { $push: { outbox: { $each: OutboxEvent[] } } } {
  return { $push: { [OUTBOX_FIELD]: { $each: events } } } as { $push: { outbox: { $each: OutboxEvent[] } } };
}
