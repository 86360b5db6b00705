import type { Connection } from 'mongoose';
import { type OrderStore, orderStore } from './order';
import { type ReservationStore, reservationStore } from './reservation';
import { type TicketStore, ticketStore } from './ticket';

/** Every store of the orders service (each registers its head model on the connection). */
export interface OrdersModels {
  /** Orders: the aggregate this service owns and publishes. */
  orders: OrderStore;
  /** Who holds each ticket. */
  reservations: ReservationStore;
  /** The ticket replica. */
  tickets: TicketStore;
  /**
   * Every store goes to the relay: orders for their events; all three so that the head of a writer that died
   * between its change and its head is rolled forward without waiting for the next writer.
   */
  outbox: readonly [OrderStore, ReservationStore, TicketStore];
}

/** Builds the service's stores on `connection`; called once per connection by the service runner. */
export function ordersModels(connection: Connection): OrdersModels {
  const orders = orderStore(connection);
  const reservations = reservationStore(connection);
  const tickets = ticketStore(connection);
  return { orders, reservations, tickets, outbox: [orders, reservations, tickets] };
}
