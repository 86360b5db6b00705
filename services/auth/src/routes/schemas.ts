import { objectIdSchema } from '@ticketing/common';
import { z } from 'zod';

/** An email as accepted everywhere: trimmed and lower-cased before it is checked, stored or compared. */
export const emailSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email({ error: 'must be a valid email' }));

export const signupBodySchema = z.object({
  email: emailSchema,
  password: z
    .string({ error: 'must be a string' })
    .min(8, 'must be at least 8 characters')
    .max(128, 'must be at most 128 characters'),
});

/** Body of POST /api/users/signin; the password length rule is not repeated, only the upper bound. */
export const signinBodySchema = z.object({
  email: emailSchema,
  password: z
    .string({ error: 'must be a string' })
    .min(1, 'is required')
    .max(128, 'must be at most 128 characters'),
});

export type CredentialsBody = z.output<typeof signupBodySchema>;

/** A user as answers show it: the Mongo id and the normalised email (what the JWT carries). */
export const userSchema = z
  .object({ id: objectIdSchema, email: z.email() })
  .strict()
  .meta({ description: 'A user' });

/** Answer of sign-up and sign-in: the user plus the JWT the `session` cookie carries, for Bearer clients. */
export const sessionBodySchema = userSchema
  .extend({
    token: z.jwt({ alg: 'HS256' }).meta({ description: 'Send as `Authorization: Bearer <token>`' }),
  })
  .strict()
  .meta({ description: 'The signed-in user and its JWT (also set in the `session` cookie)' });

export const signoutBodySchema = z.object({}).strict();

export const currentUserBodySchema = z
  .object({ currentUser: userSchema.nullable() })
  .strict()
  .meta({ description: '`currentUser` is null when no valid token came with the request' });
