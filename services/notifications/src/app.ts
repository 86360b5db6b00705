import { forgetUser, type ServiceDefinition } from '@ticketing/common';
import { type NotificationsConfig, notificationsConfigSchema } from './config';
import { DeliveryDispatcher } from './delivery/dispatcher';
import type { DeliveryState } from './domain/delivery';
import type { ExpiringNotice, OrderReplica, TicketReplica } from './domain/replicas';
import type { WebhookAccount } from './domain/webhooks';
import { expiringScheduler } from './events/expiring';
import { fanOut } from './events/fan-out';
import { notificationSubscriptions } from './events/subscriptions';
import { webhookRoutes } from './routes/webhooks';

/** The notifications service: users' webhook endpoints, and signed deliveries of their events to them. */
export const notificationsService: ServiceDefinition<NotificationsConfig> = {
  name: 'notifications',
  configSchema: notificationsConfigSchema,
  build({ store, config, logger, metrics, bus }) {
    const stores = {
      accounts: store<WebhookAccount>('webhook_accounts'),
      deliveries: store<DeliveryState>('deliveries', {
        indexes: [
          { status: 1, dueSlot: 1 },
          { endpointId: 1, status: 1, occurredAt: 1, sequence: 1 },
          { endpointId: 1, occurredAt: -1, sequence: -1 },
        ],
      }),
      tickets: store<TicketReplica>('tickets'),
      orders: store<OrderReplica>('orders'),
      expiring: store<ExpiringNotice>('expiring_orders', { indexes: [{ status: 1, dueSlot: 1 }] }),
    };
    const policy = { allowHttp: config.WEBHOOK_ALLOW_HTTP, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE };
    const maxAgeMs = config.WEBHOOK_MAX_AGE_SECONDS * 1000;
    const dispatcher = new DeliveryDispatcher({
      deliveries: stores.deliveries,
      accounts: stores.accounts,
      bus,
      logger,
      metrics,
      policy,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      retrySchedule: config.WEBHOOK_RETRY_SCHEDULE,
      pauseAfterMs: config.WEBHOOK_PAUSE_AFTER_SECONDS * 1000,
      probeMs: config.WEBHOOK_PAUSE_PROBE_SECONDS * 1000,
      pollMs: config.NOTIFICATIONS_POLL_MS,
    });
    const notify = fanOut(stores.accounts, stores.deliveries, maxAgeMs, (endpointId, userId) =>
      dispatcher.kick(endpointId, userId),
    );
    const expiring = expiringScheduler(stores.expiring, stores.orders, notify, {
      pollMs: config.NOTIFICATIONS_POLL_MS,
      logger,
    });
    return {
      routes(api) {
        webhookRoutes(api, {
          accounts: stores.accounts,
          deliveries: stores.deliveries,
          policy,
          maxEndpoints: config.WEBHOOK_MAX_ENDPOINTS_PER_USER,
          maxAgeMs,
          redelivered: (delivery) => dispatcher.kick(delivery.endpointId, delivery.userId),
        });
      },
      listeners: [
        ...notificationSubscriptions(stores, notify, {
          expiringLeadMs: config.ORDER_EXPIRING_LEAD_SECONDS * 1000,
          expiringScheduled: async (id) => {
            const notice = await stores.expiring.get(id);
            if (notice?.status === 'waiting') expiring.scheduled(notice);
          },
        }),
        // Erasure: the user's webhook endpoints go; what was delivered and the replicas keep a pseudonym.
        forgetUser(config.JWT_KEY, {
          forget: [stores.accounts],
          pseudonymize: [
            { store: stores.deliveries, paths: ['userId'] },
            { store: stores.tickets, paths: ['userId'] },
            { store: stores.orders, paths: ['userId'] },
            { store: stores.expiring, paths: ['userId'] },
          ],
        }),
      ],
      workers: [dispatcher, expiring],
      stores,
    };
  },
};
