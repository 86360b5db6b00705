import type { AggregateStore, Versioned } from '@ticketing/common';

/**
 * Who holds a ticket: an aggregate of its own, keyed by the ticket's id, each version a claim or a release. Of
 * two buyers who read the same version, exactly one writes the next (the store's insert claim): no double sale,
 * on MongoDB and on FerretDB alike, where a conditional update of a `reservedBy` field would let several win.
 */
export interface ReservationState {
  /** The order holding the ticket, or null when it is free. */
  orderId: string | null;
  /** When the holder claimed it (ms): a claim without its order after a grace period belongs to a dead placement. */
  claimedAt: number;
  /** Buyers who let this ticket go, and until when (ms) they may not reserve it again. */
  cooldowns: Record<string, number>;
}

export type Reservation = Versioned<ReservationState>;

export type ReservationStore = AggregateStore<ReservationState>;

/** Why `userId` may not claim the ticket now: another order holds it, or they let it go moments ago. */
export function claimRefusal(
  reservation: ReservationState | null,
  userId: string,
  now: number,
): 'held' | 'cooldown' | undefined {
  if (reservation?.orderId) return 'held';
  if ((reservation?.cooldowns[userId] ?? 0) > now) return 'cooldown';
  return undefined;
}

/** The reservation once `orderId` claimed it. */
export function claimedBy(
  reservation: ReservationState | null,
  orderId: string,
  now: number,
): ReservationState {
  return { orderId, claimedAt: now, cooldowns: activeCooldowns(reservation, now) };
}

/**
 * The reservation once `orderId` let the ticket go (its buyer `userId` may not take it again before
 * `cooldownUntil`), or undefined when that order does not hold it: a release never frees a later order's claim.
 */
export function releasedBy(
  reservation: ReservationState | null,
  orderId: string,
  userId: string,
  cooldownUntil: number,
  now: number,
): ReservationState | undefined {
  if (reservation?.orderId !== orderId) return undefined;
  const cooldowns = activeCooldowns(reservation, now);
  if (userId) cooldowns[userId] = cooldownUntil;
  return { orderId: null, claimedAt: reservation.claimedAt, cooldowns };
}

function activeCooldowns(reservation: ReservationState | null, now: number): Record<string, number> {
  return Object.fromEntries(Object.entries(reservation?.cooldowns ?? {}).filter(([, until]) => until > now));
}
