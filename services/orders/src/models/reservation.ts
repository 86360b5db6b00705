import { AggregateExistsError, AggregateStore, type Head, VersionConflictError } from '@ticketing/common';
import { type Connection, type Model, Schema } from 'mongoose';
import { afterLostVersion } from './changes';

/**
 * Who holds a ticket: an aggregate of its own, keyed by the ticket's id. Each version is a claim
 * (`orderId` set) or a release (`orderId: null`), and a version is written by one insert of
 * `<ticketId>:<version>` (AggregateStore), so two writers that read the same version cannot both write the
 * next one: exactly one wins, on MongoDB and on FerretDB alike.
 *
 * Why not a `reservedBy` field claimed with a conditional update: FerretDB 1.24 runs
 * `updateOne(filter, update)` as a query followed by an unconditional rewrite, so 25 racing
 * `updateOne({_id, reservedBy: null})` report several winners. Inserts of one `_id` never do.
 */
export interface ReservationState {
  /** The order holding the ticket, or null when it is free. */
  orderId: string | null;
}

/** A ticket's reservation as read back. */
export type ReservationHead = Head<ReservationState>;

/** The reservation store: heads in `reservations`, every claim and release in `reservations_changes`. */
export type ReservationStore = AggregateStore<ReservationState>;

// `_id` is the ticket's id (an ObjectId, as in the ticket replica).
const reservationSchema = new Schema<ReservationState & { version: number }>(
  {
    orderId: { type: String, default: null },
    version: { type: Number, required: true },
  },
  { versionKey: false },
);

/** Registers the reservation head model on `connection` and returns its store. */
export function reservationStore(connection: Connection): ReservationStore {
  const model =
    (connection.models.Reservation as Model<ReservationState & { version: number }> | undefined) ??
    connection.model<ReservationState & { version: number }>('Reservation', reservationSchema);
  return new AggregateStore<ReservationState>(model);
}

// Each lost version means the reservation moved; a run of them is contention to report, not to chase.
const MAX_ATTEMPTS = 8;

/** Thrown when a ticket's reservation kept moving under a release; the caller retries later (listener back-off). */
export class ReservationContentionError extends Error {
  override readonly name = 'ReservationContentionError';
  /** Stable code for logs. */
  readonly code = 'RESERVATION_CONTENTION';
}

/**
 * Claims the ticket for `orderId`, exactly one of concurrent claimants winning. When another order holds it,
 * `canTakeOver` decides whether that claim is dead (its order gone or cancelled); the takeover is then the
 * next version written on top of the one judged, so it fails if the reservation moved meanwhile. Resolves
 * false when the ticket stays held by another order (or kept moving: someone else is claiming it).
 */
export async function claimTicket(
  reservations: ReservationStore,
  ticketId: string,
  orderId: string,
  canTakeOver: (reservation: ReservationHead) => Promise<boolean>,
): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const reservation = await reservations.get(ticketId);
    try {
      if (!reservation) {
        await reservations.create(ticketId, { orderId });
        return true;
      }
      if (reservation.orderId !== null && !(await canTakeOver(reservation))) return false;
      await reservations.update(reservation, { orderId });
      return true;
    } catch (error) {
      if (error instanceof AggregateExistsError) await afterLostVersion(reservations, ticketId, 0, attempt);
      else if (error instanceof VersionConflictError)
        await afterLostVersion(reservations, ticketId, error.version, attempt);
      else throw error;
    }
  }
  return false;
}

/**
 * Gives the ticket back if, and only if, `orderId` holds it. Idempotent, and it can never release a later
 * order's claim: the release is the version right after the one it read naming `orderId`, or nothing.
 */
export async function releaseTicket(
  reservations: ReservationStore,
  ticketId: string,
  orderId: string,
): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const reservation = await reservations.get(ticketId);
    if (reservation?.orderId !== orderId) return;
    try {
      await reservations.update(reservation, { orderId: null });
      return;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      await afterLostVersion(reservations, ticketId, error.version, attempt);
    }
  }
  throw new ReservationContentionError(`could not release ticket ${ticketId} for order ${orderId}`);
}
