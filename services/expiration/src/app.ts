import type { ServiceDefinition } from '@ticketing/common';
import { type ExpirationConfig, expirationConfigSchema } from './config';
import type { ExpirationState } from './domain/expiration';
import { orderSubscriptions } from './events/order-created';
import { ExpirationScheduler } from './scheduler/expiration-scheduler';

/** The expiration service: schedules an expiration per order and publishes `expiration.complete` when due. */
export const expirationService: ServiceDefinition<ExpirationConfig> = {
  name: 'expiration',
  configSchema: expirationConfigSchema,
  build({ store, config, logger, metrics }) {
    const expirations = store<ExpirationState>('expirations', { indexes: [{ status: 1, dueSlot: 1 }] });
    const scheduler = new ExpirationScheduler({
      store: expirations,
      logger,
      pollMs: config.EXPIRATION_POLL_MS,
      metrics,
    });
    // No API of its own: health, readiness and metrics come with every service.
    return {
      listeners: orderSubscriptions(expirations, scheduler),
      workers: [scheduler],
      stores: { expirations },
    };
  },
};
