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
export const authConfigSchema = serviceConfigSchema
  .extend({
    /** Lifetime of issued JWTs (and of the session cookie), in seconds; default one day, at most JWT_MAX_AGE_SECONDS. */
    JWT_TTL: envDurationSeconds.default(86_400),
    /** Length of one rate-limit window, in seconds; default 15 minutes. */
    AUTH_RATE_LIMIT_WINDOW_SECONDS: envDurationSeconds.default(900),
    /** Sign-up + sign-in attempts one client address may make per window, whatever the email; default 100. */
    AUTH_RATE_LIMIT_PER_IP: envPositiveCount.default(100),
    /** Failed sign-ins for one email from one client address per window; default 10. */
    AUTH_RATE_LIMIT_FAILED_SIGNINS_PER_EMAIL_AND_IP: envPositiveCount.default(10),
    // Counted per email from any address, it let a stranger lock an account out: refused rather than ignored.
    AUTH_RATE_LIMIT_PER_EMAIL: z
      .unknown()
      .refine(
        (value) => value === undefined,
        'is no longer read: failed sign-ins are limited per email and client address (AUTH_RATE_LIMIT_FAILED_SIGNINS_PER_EMAIL_AND_IP)',
      )
      .optional(),
  })
  // Every service refuses a token that lives longer than JWT_MAX_AGE_SECONDS: auth must not issue one.
  .refine(
    (env) =>
      !(
        typeof env?.JWT_TTL === 'number' &&
        typeof env?.JWT_MAX_AGE_SECONDS === 'number' &&
        env.JWT_TTL > env.JWT_MAX_AGE_SECONDS
      ),
    { message: 'must not exceed JWT_MAX_AGE_SECONDS', path: ['JWT_TTL'], when: () => true },
  );

export type AuthConfig = z.output<typeof authConfigSchema>;
