import { envDurationSeconds, serviceConfigSchema } from '@ticketing/common';
import { z } from 'zod';

/** The orders service's environment: the common variables plus the rules of reservations. */
export const ordersConfigSchema = serviceConfigSchema.extend({
  /** How long an unpaid order holds its ticket (default 900 s). */
  ORDER_EXPIRATION_SECONDS: envDurationSeconds.default(900),
  /** Unpaid orders a buyer may hold at once. */
  MAX_LIVE_ORDERS_PER_USER: z.coerce
    .number({ error: 'must be a whole number from 1 to 1000' })
    .int('must be a whole number from 1 to 1000')
    .min(1, 'must be a whole number from 1 to 1000')
    .max(1000, 'must be a whole number from 1 to 1000')
    .default(5),
  /** How long a buyer who cancelled or let expire an order may not reserve that ticket again. */
  REORDER_COOLDOWN_SECONDS: z.coerce
    .number({ error: 'must be a whole number of seconds, 0 or more' })
    .int('must be a whole number of seconds, 0 or more')
    .min(0, 'must be a whole number of seconds, 0 or more')
    .default(60),
});

export type OrdersConfig = z.output<typeof ordersConfigSchema>;
