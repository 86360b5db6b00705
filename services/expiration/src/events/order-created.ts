import { AggregateExistsError, type AnySubscription, currentTraceparent, on } from '@ticketing/common';
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
        const schedule = scheduleFor(data.id, new Date(data.expiresAt), currentTraceparent());
        scheduler.scheduled(await store.create(data.id, schedule));
      } catch (error) {
        if (!(error instanceof AggregateExistsError)) throw error;
      }
    }),
  ];
}
