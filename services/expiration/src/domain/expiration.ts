import { type AggregateStore, type Decision, dueSlotOf, type Versioned } from '@ticketing/common';

/** `scheduled` until its time comes; `fired` once `expiration.complete` was written (version 1). */
export type ExpirationStatus = 'scheduled' | 'fired';

/** A scheduled expiration of one order (its id is the order's). */
export interface ExpirationState {
  orderId: string;
  /** When the order's reservation runs out. */
  expiresAt: Date;
  /** The 10-second slot `expiresAt` falls in: what the scheduler asks for, an equality FerretDB can index. */
  dueSlot: number;
  status: ExpirationStatus;
  firedAt?: Date;
  /** The trace of the order's creation (absent when untraced): its expiration.complete continues it. */
  traceparent?: string;
}

export type Expiration = Versioned<ExpirationState>;

export type ExpirationStore = AggregateStore<ExpirationState>;

/** The expiration of an order that expires at `expiresAt`, created in the trace named by `traceparent`. */
export function scheduleFor(orderId: string, expiresAt: Date, traceparent?: string): ExpirationState {
  return {
    orderId,
    expiresAt,
    dueSlot: dueSlotOf(expiresAt),
    status: 'scheduled',
    ...(traceparent ? { traceparent } : {}),
  };
}

/** Firing an expiration that is due: version 1 with its expiration.complete; undefined when it fired already. */
export function fire(expiration: Expiration, now: Date): Decision<ExpirationState> | undefined {
  if (expiration.status !== 'scheduled' || expiration.expiresAt.getTime() > now.getTime()) return undefined;
  return {
    state: { ...expiration, status: 'fired', firedAt: now },
    events: [{ subject: 'expiration.complete', data: { orderId: expiration.orderId } }],
  };
}
