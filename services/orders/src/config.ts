import { envDurationSeconds, serviceConfigSchema } from '@ticketing/common';
import type { z } from 'zod';

/** The orders service's environment: the common variables plus the reservation window. */
export const ordersConfigSchema = serviceConfigSchema.extend({
  /** How long an unpaid order holds its ticket (DESIGN.md: default 900 s). */
  ORDER_EXPIRATION_SECONDS: envDurationSeconds.default(900),
});

/** The parsed orders config. */
export type OrdersConfig = z.output<typeof ordersConfigSchema>;
