import { envDurationSeconds, envUrl, serviceConfigSchema } from '@ticketing/common';
import { z } from 'zod';

/** The payments service's environment: the common variables plus the gateway's and the claim recovery's. */
export const paymentsConfigSchema = serviceConfigSchema.extend({
  STRIPE_SECRET_KEY: z
    .string({ error: 'is required (a Stripe secret key: sk_test_... or sk_live_...)' })
    .regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, 'must be a Stripe secret key (sk_test_... or sk_live_...)'),
  // Unset: Stripe's own API. Tests and the local stack point it at stripe-mock or the test kit's sandbox.
  STRIPE_API_URL: envUrl
    .refine((url) => /^https?:\/\//i.test(url), 'must be an http:// or https:// URL')
    .optional(),
  STRIPE_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .refine(Number.isInteger, 'must be a whole number')
    .positive('must be greater than 0')
    .default(20_000),
  STRIPE_MAX_NETWORK_RETRIES: z.coerce
    .number({ error: 'must be a number' })
    .refine(Number.isInteger, 'must be a whole number')
    .min(0, 'must be 0 or more')
    .max(10, 'must be at most 10')
    .default(2),
  // A claim this old without a payment was left by a process that died mid-charge: the next one to meet it
  // re-issues the charge under the same idempotency key. Live requests answer long before.
  PAYMENT_CLAIM_GRACE_SECONDS: envDurationSeconds.default(60),
});

export type PaymentsConfig = z.output<typeof paymentsConfigSchema>;
