import { errorBodySchema, type ResponseSpec } from '@ticketing/common';
import { z } from 'zod';

/** The 429 of sign-up and sign-in, as their documents describe it. */
export const rateLimitedAnswer: ResponseSpec = {
  description:
    'Too many attempts from this client address, or (sign-in) too many failed sign-ins for this email from it',
  schema: errorBodySchema,
  headers: {
    'Retry-After': {
      description: 'Seconds to wait before trying again',
      schema: z.number().int().positive(),
    },
  },
};
