import { envLogLevel, envPort } from '@ticketing/common';
import { z } from 'zod';

/** Test card tokens of the local payments backends (stripe-mock and the Stripe sandbox accept these forms). */
const cardToken = z
  .string()
  .regex(/^tok_[A-Za-z0-9_]+$/, 'must be card tokens such as tok_visa, comma-separated');

/** The web shop's environment. */
export const clientConfigSchema = z.object({
  PORT: envPort,
  LOG_LEVEL: envLogLevel.default('info'),
  /**
   * A Stripe publishable key: the pay form then uses Stripe's card element (Stripe.js loaded from Stripe).
   * Unset, it offers `TEST_CARD_TOKENS` instead (local stacks: stripe-mock or the Stripe sandbox).
   */
  STRIPE_PUBLISHABLE_KEY: z
    .string()
    .regex(/^pk_(test|live)_[A-Za-z0-9]+$/, 'must be a Stripe publishable key (pk_test_… or pk_live_…)')
    .optional(),
  /** The test cards the pay form offers without a publishable key (default `tok_visa`). */
  TEST_CARD_TOKENS: z
    .string()
    .default('tok_visa')
    .transform((value) => value.split(',').map((token) => token.trim()))
    .pipe(z.array(cardToken).min(1)),
  /** Where the built pages are (default: dist/public of this package). */
  PUBLIC_DIR: z.string().optional(),
});

/** The validated configuration. */
export type ClientConfig = z.output<typeof clientConfigSchema>;
