import type { AggregateStore, Versioned } from '@ticketing/common';

/**
 * The orders service's copy of a ticket, fed by the tickets service's events in version order. `orderId` is the
 * order the tickets service reserved the ticket for: an order completes only once that is itself (price
 * authority: the tickets service confirmed the price it was placed at).
 */
export interface TicketCopy {
  title: string;
  /** In major units, copied into each order. */
  price: number;
  /** The seller, who may not buy it. */
  userId: string;
  orderId?: string;
}

export type TicketCopyStore = AggregateStore<TicketCopy>;

export type VersionedTicketCopy = Versioned<TicketCopy>;
