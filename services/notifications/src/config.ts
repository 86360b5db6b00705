import { envBoolean, envDurationSeconds, serviceConfigSchema } from '@ticketing/common';
import { z } from 'zod';

const wholeMs = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .refine(Number.isInteger, 'must be a whole number of milliseconds')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(fallback);

/** `5,30,120,600,3600`: seconds to wait after the 1st, 2nd, … failed attempt; the last one repeats. */
const retrySchedule = z
  .string()
  .trim()
  .regex(/^\d+(\s*,\s*\d+)*$/, 'must be a comma-separated list of whole seconds, e.g. 5,30,120,600,3600')
  .transform((value) => value.split(',').map((part) => Number(part.trim())))
  .refine((seconds) => seconds.every((s) => s > 0), 'every delay must be greater than 0');

/** The notifications service's environment: the common variables plus the rules of webhook delivery. */
export const notificationsConfigSchema = serviceConfigSchema.extend({
  /** Plain-http endpoint URLs are refused unless this is true (local development and tests). */
  WEBHOOK_ALLOW_HTTP: envBoolean.default(false),
  /** Loopback, private and link-local addresses are refused unless true; the metadata range 169.254/16 always is. */
  WEBHOOK_ALLOW_PRIVATE: envBoolean.default(false),
  WEBHOOK_RETRY_SCHEDULE: retrySchedule.default([5, 30, 120, 600, 3600]),
  /** How long a delivery is retried after its event before it is failed and dead-lettered. */
  WEBHOOK_MAX_AGE_SECONDS: envDurationSeconds.default(86_400),
  /** An endpoint whose deliveries have failed without a success for this long is paused. */
  WEBHOOK_PAUSE_AFTER_SECONDS: envDurationSeconds.default(3600),
  /** A paused endpoint is probed (its oldest delivery tried again) this often. */
  WEBHOOK_PAUSE_PROBE_SECONDS: envDurationSeconds.default(3600),
  /** A delivery that has not answered 2xx within this many ms failed. */
  WEBHOOK_TIMEOUT_MS: wholeMs(100, 60_000, 10_000),
  WEBHOOK_MAX_ENDPOINTS_PER_USER: z.coerce
    .number({ error: 'must be a whole number from 1 to 100' })
    .int('must be a whole number from 1 to 100')
    .min(1, 'must be a whole number from 1 to 100')
    .max(100, 'must be a whole number from 1 to 100')
    .default(10),
  /** `order.expiring` is sent this long before an unpaid order expires. */
  ORDER_EXPIRING_LEAD_SECONDS: envDurationSeconds.default(120),
  /** Poll of due deliveries and expiring orders (catches other replicas' work and retries). */
  NOTIFICATIONS_POLL_MS: wholeMs(10, 3_600_000, 1000),
});

export type NotificationsConfig = z.output<typeof notificationsConfigSchema>;
