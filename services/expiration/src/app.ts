import type { ServiceContext, ServiceDefinition } from '@ticketing/common';
import { type ExpirationConfig, expirationConfigSchema } from './config';
import { OrderCreatedListener } from './events/order-created-listener';
import { type ExpirationModels, expirationModels } from './models/expiration';
import { ExpirationScheduler } from './scheduler/expiration-scheduler';

type ExpirationContext = ServiceContext<ExpirationConfig, ExpirationModels>;

// The listener tells the scheduler of new jobs, so both must share one scheduler per running instance.
const schedulers = new WeakMap<ExpirationContext, ExpirationScheduler>();

/** The scheduler of a running instance (tests read its counters). */
export function schedulerOf(context: ExpirationContext): ExpirationScheduler {
  let scheduler = schedulers.get(context);
  if (!scheduler) {
    scheduler = new ExpirationScheduler({
      store: context.models.expirations,
      logger: context.logger,
      pollMs: context.config.EXPIRATION_POLL_MS,
      metrics: context.metrics,
    });
    schedulers.set(context, scheduler);
  }
  return scheduler;
}

/** The expiration service: schedules an expiration per order and publishes `expiration.complete` when due. */
export const expirationService: ServiceDefinition<ExpirationConfig, ExpirationModels> = {
  name: 'expiration',
  configSchema: expirationConfigSchema,
  models: expirationModels,
  listeners: (context) => [
    new OrderCreatedListener(
      context.bus,
      context.listenerOptions,
      context.models.expirations,
      schedulerOf(context),
    ),
  ],
  workers: (context) => [schedulerOf(context)],
  // No API of its own: health, readiness and metrics come with every service.
  routes: () => {},
};
