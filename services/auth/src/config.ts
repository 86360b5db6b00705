import { envDurationSeconds, serviceConfigSchema } from '@ticketing/common';
import { z } from 'zod';

// Whole-number check by refine, as in common's config: `.int()` would abort the parse and hide other problems.
const envPositiveCount = z.coerce
  .number({ error: 'must be a number' })
  .refine(Number.isInteger, 'must be a whole number')
  .positive('must be greater than 0');

/**
 * The auth service's environment: the common variables (JWT_KEY is required there) plus token lifetime and
 * the sign-in/sign-up rate limits. Tests set small limits; production keeps the defaults or tightens them.
 */
export const authConfigSchema = serviceConfigSchema.extend({
  /** Lifetime of issued JWTs (and of the session cookie), in seconds; default one day. */
  JWT_TTL: envDurationSeconds.default(86_400),
  /** Length of one rate-limit window, in seconds; default 15 minutes. */
  AUTH_RATE_LIMIT_WINDOW_SECONDS: envDurationSeconds.default(900),
  /** Sign-up + sign-in attempts one client IP may make per window; default 100. */
  AUTH_RATE_LIMIT_PER_IP: envPositiveCount.default(100),
  /** Sign-up + sign-in attempts for one email per window, from any IP; default 10. */
  AUTH_RATE_LIMIT_PER_EMAIL: envPositiveCount.default(10),
});

/** The parsed auth config. */
export type AuthConfig = z.output<typeof authConfigSchema>;
