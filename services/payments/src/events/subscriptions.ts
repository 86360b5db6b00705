import { type AnySubscription, type Logger, replicate } from '@ticketing/common';
import type { OrderCopyStore, OrderStatus } from '../domain/payment';
import { type RefundDeps, refundPaymentOfOrder } from './refund-payment';

/** The payments service's subscription table: a replica of every order, and refunds of cancelled ones. */
export function orderSubscriptions(
  orders: OrderCopyStore,
  refunds: RefundDeps,
  logger: Logger,
): AnySubscription[] {
  // Status events carry the status only: the rest of the order comes from the version before.
  const applyStatus = (data: { id: string; version: number }, status: OrderStatus) =>
    orders.apply(data, (order) => (order ? { state: { ...order, status } } : undefined));
  return [
    replicate('order.created', orders, (data) =>
      orders.apply(data, () => ({
        state: { userId: data.userId, price: data.ticket.price, status: data.status },
      })),
    ),
    // The refund check runs on every delivery, not only when the status changed, so a crash between the two
    // steps is made good by the redelivery (a payment that lands on a cancelled order is refunded).
    // A replay of history rebuilds the replica only: it refunds nothing.
    replicate('order.cancelled', orders, (data) => applyStatus(data, 'cancelled'), {
      sideEffects: async (data) => {
        if ((await refundPaymentOfOrder(refunds, data.id)) === 'refunded') {
          logger.info({ orderId: data.id }, 'payment of cancelled order refunded');
        }
      },
    }),
    replicate('order.completed', orders, (data) => applyStatus(data, 'complete')),
  ];
}
