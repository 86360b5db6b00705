import type { Bus, Env, EventData, RunningService } from '@ticketing/common';
import {
  type MongoHandle,
  type NatsServerHandle,
  objectId,
  type StripeSandbox,
  serviceTestEnv,
} from '@ticketing/testing';
import type { PaymentsConfig } from '../config';
import type { OrderCopyStore, PaymentStore } from '../domain/payment';
import type { PaymentClaimModel } from '../models/claims';

/**
 * stripe-mock's address from `STRIPE_MOCK_URL` (CI's .ci/run starts it). Throws when unset: the payments suite
 * must fail loudly rather than skip the checks that matter most.
 */
export function stripeMockUrl(): string {
  const url = process.env.STRIPE_MOCK_URL;
  if (!url) {
    throw new Error(
      'STRIPE_MOCK_URL is not set: the payments tests need a running stripe-mock. Start one with ' +
        '`~/.cache/ticketing-tools/bin/stripe-mock -http-addr 127.0.0.1:12111 &` and ' +
        'export STRIPE_MOCK_URL=http://127.0.0.1:12111 (CI sets it in .ci/run).',
    );
  }
  return url;
}

/** The environment every test instance shares: these servers, quiet logs, every answer checked against the API. */
function commonEnv(nats: NatsServerHandle, mongo: MongoHandle): Env {
  return serviceTestEnv({ nats, mongo });
}

/** The environment of a payments instance on these servers, charging through stripe-mock unless overridden. */
export function paymentsEnv(nats: NatsServerHandle, mongo: MongoHandle, overrides: Env = {}): Env {
  return {
    ...commonEnv(nats, mongo),
    STRIPE_SECRET_KEY: 'sk_test_ticketing',
    STRIPE_API_URL: stripeMockUrl(),
    STRIPE_MAX_NETWORK_RETRIES: '0',
    ...overrides,
  };
}

/**
 * The environment of a payments instance charging through the test kit's Stripe sandbox: it declines cards and
 * honours idempotency keys, which stripe-mock does not.
 */
export function sandboxEnv(
  nats: NatsServerHandle,
  mongo: MongoHandle,
  sandbox: StripeSandbox,
  overrides: Env = {},
): Env {
  return paymentsEnv(nats, mongo, {
    STRIPE_API_URL: sandbox.url,
    STRIPE_SECRET_KEY: sandbox.secretKey,
    ...overrides,
  });
}

/** Listener tuning for tests: held-back and failed events come back within tens of milliseconds. */
export const fastListeners = { retryDelayMs: 50, maxRetryDelayMs: 400 };

/** A valid `order.created` payload for `userId`. */
export function orderCreated(
  overrides: Partial<EventData<'order.created'>> = {},
): EventData<'order.created'> {
  return {
    id: objectId(),
    version: 0,
    userId: objectId(),
    status: 'created',
    expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
    ticket: { id: objectId(), price: 20 },
    ...overrides,
  };
}

/** Resolves once the durable consumer acknowledged everything up to stream sequence `seq`. */
export async function acknowledgedThrough(bus: Bus, stream: string, durable: string, seq: number) {
  const info = await bus.jsm.consumers.info(stream, durable);
  if (info.ack_floor.stream_seq < seq) {
    throw new Error(`${durable} acknowledged through ${info.ack_floor.stream_seq}, waiting for ${seq}`);
  }
  return info;
}

/** What payments tests look at: its stores and its claims. */
export function storesOf(running: RunningService<PaymentsConfig>) {
  const { orders, payments } = running.parts.stores as unknown as {
    orders: OrderCopyStore;
    payments: PaymentStore;
  };
  const claims = running.context.connection.models.PaymentClaim as PaymentClaimModel;
  return { orders, payments, claims };
}
