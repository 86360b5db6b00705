import { type ApiRouter, ConflictError, tooManyRequestsAnswer } from '@ticketing/common';
import type { AuthConfig } from '../config';
import type { UserModel } from '../models/user';
import { hashPassword } from '../passwords/passwords';
import type { AuthRateLimiters } from '../rate-limit/limiters';
import { sessionBodySchema, signupBodySchema } from './schemas';
import { startSession } from './session';

export const SIGNUP_PATH = '/api/users/signup';

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

/**
 * POST /api/users/signup → 201 {id, email, token} and the session cookie; 409 when the email is taken.
 * Counted against the client address's budget, before validation (`before`), so junk counts too.
 */
export function signupRoute(
  api: ApiRouter,
  users: UserModel,
  limiters: AuthRateLimiters,
  config: AuthConfig,
): void {
  api.route({
    method: 'post',
    path: SIGNUP_PATH,
    operationId: 'signUp',
    summary: 'Create an account and sign in',
    auth: 'none',
    before: [limiters.perAddress],
    body: signupBodySchema,
    responses: {
      201: {
        description: 'Signed up: the user and its JWT; the `session` cookie carries the same JWT',
        schema: sessionBodySchema,
      },
      409: 'The email is taken (`field: "email"`)',
      429: tooManyRequestsAnswer(
        'Too many attempts from this client address, or (sign-in) too many failed sign-ins for this email from it',
      ),
    },
    handler: async (req, res) => {
      const { email, password } = req.body;
      const passwordHash = await hashPassword(password);
      let id: string;
      try {
        // No read-then-insert: the unique index decides between simultaneous sign-ups with one email.
        const user = await users.create({ email, passwordHash });
        id = user.id as string;
      } catch (error) {
        if (isDuplicateKey(error)) throw new ConflictError('Email in use', 'email');
        throw error;
      }
      res.status(201).json(startSession(req, { id, email }, config.JWT_KEY, config.JWT_TTL));
    },
  });
}
