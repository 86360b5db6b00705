import { type AnySubscription, on, PoisonMessageError, replicate } from '@ticketing/common';
import type { OrderBook, OrdersStores } from '../models/order-book';

export function orderSubscriptions(stores: OrdersStores, book: OrderBook): AnySubscription[] {
  const copyTicket = (data: {
    id: string;
    version: number;
    title: string;
    price: number;
    userId: string;
    orderId?: string;
  }) =>
    stores.tickets.apply(data, () => ({
      state: { title: data.title, price: data.price, userId: data.userId, orderId: data.orderId },
    }));
  const cancel = async (orderId: string, reason: 'expired' | 'price_changed') => {
    if (!(await book.settle(orderId, { status: 'cancelled', reason }))) {
      throw new PoisonMessageError(`order ${orderId} does not exist`);
    }
  };
  return [
    // The ticket replica: what `npm run replay -- orders` rebuilds from the TICKETS stream.
    replicate('ticket.created', stores.tickets, copyTicket),
    replicate('ticket.updated', stores.tickets, copyTicket),
    // The tickets service would not reserve the ticket at the order's price: the order cannot complete.
    on('ticket.refused', (data) => cancel(data.orderId, 'price_changed'), { key: (data) => data.orderId }),
    on('expiration.complete', (data) => cancel(data.orderId, 'expired')),
    on('payment.created', (data) => book.completePaid(data.orderId), { key: (data) => data.orderId }),
  ];
}
