import { errorBodySchema, type ResponseSpec } from '@ticketing/common';

/** The 429 of sign-up and sign-in, as their documents describe it. */
export const rateLimitedAnswer: ResponseSpec = {
  description:
    'Too many attempts from this client IP or for this email; the `Retry-After` header says in how many ' +
    'seconds to try again',
  schema: errorBodySchema,
};
