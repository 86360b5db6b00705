import type { Connection } from 'mongoose';
import { orderStore } from './order';
import { paymentClaimModel, paymentStore } from './payment';

/** The payments service's stores and models. */
export function paymentsModels(connection: Connection) {
  const orders = orderStore(connection);
  const payments = paymentStore(connection);
  const claims = paymentClaimModel(connection);
  // The order replica is listed too: the relay rolls forward a head whose writer died after its claim.
  return { orders, payments, claims, outbox: [payments, orders] };
}

/** What {@link paymentsModels} builds. */
export type PaymentsModels = ReturnType<typeof paymentsModels>;
