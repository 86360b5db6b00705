import { AggregateExistsError, type AnySubscription, on } from '@ticketing/common';
import { type ExpirationStore, scheduleFor } from '../domain/expiration';
import type { ExpirationScheduler } from '../scheduler/expiration-scheduler';

/** The expiration service's subscription table: one expiration per order, however often the event arrives. */
export function orderSubscriptions(
  store: ExpirationStore,
  scheduler: ExpirationScheduler,
): AnySubscription[] {
  return [
    on('order.created', async (data) => {
      try {
        scheduler.scheduled(await store.create(data.id, scheduleFor(data.id, new Date(data.expiresAt))));
      } catch (error) {
        if (!(error instanceof AggregateExistsError)) throw error;
      }
    }),
  ];
}
