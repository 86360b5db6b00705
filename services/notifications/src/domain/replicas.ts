import type { AggregateStore, Versioned } from '@ticketing/common';

/** What the service keeps of a ticket: whose it is and the order holding it (the versions of tickets). */
export interface TicketReplica {
  userId: string;
  orderId?: string;
}

/** What the service keeps of an order: whose it is and how it stands (the versions of orders). */
export interface OrderReplica {
  userId: string;
  ticketId: string;
  status: 'created' | 'cancelled' | 'complete';
  expiresAt: Date;
}

/** `order.expiring` of one unpaid order (`_id` = the order's): sent once, or skipped if the order ended first. */
export interface ExpiringNotice {
  userId: string;
  orderId: string;
  ticketId: string;
  expiresAt: Date;
  /** When it goes out: the configured lead before `expiresAt`. */
  notifyAt: Date;
  dueSlot: number;
  status: 'waiting' | 'sent' | 'skipped';
}

export type TicketReplicaStore = AggregateStore<TicketReplica>;
export type OrderReplicaStore = AggregateStore<OrderReplica>;
export type ExpiringStore = AggregateStore<ExpiringNotice>;
export type Expiring = Versioned<ExpiringNotice>;
