import { serviceConfigSchema } from '@ticketing/common';
import { z } from 'zod';

/** The tickets service's environment: the common variables plus the sellers' pace. */
export const ticketsConfigSchema = serviceConfigSchema.extend({
  /** Tickets one seller may put on sale per minute (default 60). */
  TICKET_CREATION_LIMIT_PER_MINUTE: z.coerce
    .number({ error: 'must be a whole number, 1 or more' })
    .int('must be a whole number, 1 or more')
    .min(1, 'must be a whole number, 1 or more')
    .default(60),
});

export type TicketsConfig = z.output<typeof ticketsConfigSchema>;
