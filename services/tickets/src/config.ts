import { serviceConfigSchema } from '@ticketing/common';
import type { z } from 'zod';

/** The tickets service's environment: the common variables only (JWT_KEY is required there). */
export const ticketsConfigSchema = serviceConfigSchema;

/** The parsed tickets config. */
export type TicketsConfig = z.output<typeof ticketsConfigSchema>;
