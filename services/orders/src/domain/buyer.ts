import type { AggregateStore } from '@ticketing/common';

/**
 * A buyer's unpaid orders, as far as placements know: each placement adds its order by claiming the buyer's next
 * version, so two placements of one buyer cannot both take the last free place. Settled orders are not removed
 * when they settle (that would cost a write per purchase); a placement that finds the list full drops them.
 */
export interface BuyerState {
  orders: Array<{ id: string; at: number }>;
}

export type BuyerStore = AggregateStore<BuyerState>;

/** The buyer with one more unpaid order. */
export function withOrder(buyer: BuyerState | null, orderId: string, now: number): BuyerState {
  return { orders: [...(buyer?.orders ?? []), { id: orderId, at: now }] };
}

/** The buyer without the orders that are no longer unpaid. */
export function stillUnpaid(buyer: BuyerState, unpaid: ReadonlySet<string>): BuyerState {
  return { orders: buyer.orders.filter((order) => unpaid.has(order.id)) };
}
