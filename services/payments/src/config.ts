import { envUrl, serviceConfigSchema } from '@ticketing/common';
import { z } from 'zod';

/** The payments service's environment: the common variables plus Stripe's. */
export const paymentsConfigSchema = serviceConfigSchema.extend({
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, 'must be a Stripe secret key (sk_test_... or sk_live_...)'),
  // Unset: Stripe's own API. Tests point it at stripe-mock.
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
});

/** The parsed payments config. */
export type PaymentsConfig = z.output<typeof paymentsConfigSchema>;
