import { type AnySubscription, currentTraceparent, on } from '@ticketing/common';
import { type ExpirationStore, scheduleFor } from '../domain/expiration';
import type { ExpirationScheduler } from '../scheduler/expiration-scheduler';

/** The expiration service's subscription table: one expiration per order, however often the event arrives. */
export function orderSubscriptions(
  store: ExpirationStore,
  scheduler: ExpirationScheduler,
): AnySubscription[] {
  return [
    on('order.created', async (data) => {
      const schedule = scheduleFor(data.id, new Date(data.expiresAt), currentTraceparent());
      // createOnce: a retry after a crash in the middle of the create still leaves a job the scheduler finds.
      const { latest } = await store.createOnce(data.id, schedule);
      scheduler.scheduled(latest);
    }),
  ];
}
