import { AggregateStore } from '@ticketing/common';
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

/** `scheduled` until its time comes; `fired` once `expiration.complete` was written (version 1). */
export type ExpirationStatus = 'scheduled' | 'fired';

/** A scheduled expiration of one order. */
export interface ExpirationState {
  orderId: string;
  /** When the order's reservation runs out. */
  expiresAt: Date;
  status: ExpirationStatus;
  /** When it fired. */
  firedAt?: Date;
}

/** The head document of an expiration (`_id` = order id). */
export type ExpirationHead = ExpirationState & { _id: string; version: number };

const expirationSchema = new Schema<ExpirationHead>(
  {
    _id: { type: String, required: true },
    orderId: { type: String, required: true, unique: true },
    expiresAt: { type: Date, required: true },
    status: { type: String, required: true, enum: ['scheduled', 'fired'] },
    firedAt: { type: Date },
    version: { type: Number, required: true },
  },
  { versionKey: false },
);
// The scheduler's two queries: due jobs, and the next job to set a timer for.
expirationSchema.index({ status: 1, expiresAt: 1 });

/** Expirations: heads in `expirations`, versions (and the `expiration.complete` outbox) in `expirations_changes`. */
export function expirationStore(connection: Connection): AggregateStore<ExpirationState> {
  const model =
    (connection.models.Expiration as Model<ExpirationHead> | undefined) ??
    connection.model<ExpirationHead>('Expiration', expirationSchema);
  // The store types heads by their state; our heads add a string `_id` (the order id), which it keeps as is.
  return new AggregateStore<ExpirationState>(
    model as unknown as Model<ExpirationState & { version: number }>,
  );
}

/** The expiration service's stores. */
export function expirationModels(connection: Connection) {
  const expirations = expirationStore(connection);
  return { expirations, outbox: [expirations] };
}

/** What {@link expirationModels} builds. */
export type ExpirationModels = ReturnType<typeof expirationModels>;
