import { type RunningService, startService } from '@ticketing/common';
import {
  type MongoHandle,
  type NatsServerHandle,
  serviceTestEnv,
  signTestUser,
  startMongo,
} from '@ticketing/testing';
import request from 'supertest';
import { notificationsService } from '../app';
import type { NotificationsConfig } from '../config';
import type { DeliveryStore } from '../domain/delivery';
import type { AccountStore } from '../domain/webhooks';

export type RunningNotifications = RunningService<NotificationsConfig>;

/** A notifications instance on `nats` and a database of its own, with fast retries unless `env` says otherwise. */
export async function startNotifications(
  nats: NatsServerHandle,
  env: Record<string, string> = {},
): Promise<{ running: RunningNotifications; mongo: MongoHandle; stop(): Promise<void> }> {
  const mongo = await startMongo();
  const running = await startService(
    {
      ...notificationsService,
      tuning: {
        listeners: { retryDelayMs: 50, maxRetryDelayMs: 200 },
        relay: { heartbeatMs: 200, staleAfterMs: 1000 },
      },
    },
    {
      env: serviceTestEnv(
        { nats, mongo },
        {
          WEBHOOK_ALLOW_HTTP: 'true',
          WEBHOOK_ALLOW_PRIVATE: 'true',
          WEBHOOK_RETRY_SCHEDULE: '1',
          NOTIFICATIONS_POLL_MS: '200',
          ...env,
        },
      ),
      listen: false,
    },
  );
  return {
    running,
    mongo,
    async stop() {
      await running.stop();
      await mongo.stop();
    },
  };
}

export const storesOf = (running: RunningNotifications) =>
  running.parts.stores as unknown as { accounts: AccountStore; deliveries: DeliveryStore };

/** Registers an endpoint through the API as a fresh (or the given) user; the 201 body and the user. */
export async function registerWebhook(
  running: RunningNotifications,
  url: string,
  events: string[],
  user = signTestUser(),
) {
  const response = await request(running.app)
    .post('/api/webhooks')
    .set('Authorization', user.bearer)
    .send({ url, events });
  if (response.status !== 201) throw new Error(`register answered ${response.status} ${response.text}`);
  return { webhook: response.body as { id: string; secret: string }, user };
}
