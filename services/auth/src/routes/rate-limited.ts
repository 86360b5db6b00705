import { errorBodySchema, type ResponseSpec } from '@ticketing/common';
import { z } from 'zod';

/** The 429 of sign-up and sign-in, as their documents describe it. */
export const rateLimitedAnswer: ResponseSpec = {
  description: 'Too many attempts from this client IP or for this email',
  schema: errorBodySchema,
  headers: {
    'Retry-After': {
      description: 'Seconds to wait before trying again',
      schema: z.number().int().positive(),
    },
  },
};
