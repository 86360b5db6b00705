import { serviceConfigSchema } from '@ticketing/common';
import { z } from 'zod';

/** The expiration service's environment: the common variables plus the scheduler's poll interval. */
export const expirationConfigSchema = serviceConfigSchema.extend({
  // The poll catches jobs written by other replicas and retries failures; a timer handles the nearest job.
  EXPIRATION_POLL_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .refine(Number.isInteger, 'must be a whole number')
    .min(10, 'must be at least 10')
    .max(3_600_000, 'must be at most 3600000 (one hour)')
    .default(1000),
});

export type ExpirationConfig = z.output<typeof expirationConfigSchema>;
