import { type ApiRouter, BadRequestError, tooManyRequestsAnswer } from '@ticketing/common';
import type { AuthConfig } from '../config';
import type { UserModel } from '../models/user';
import { verifyAgainstDummy, verifyPassword } from '../passwords/passwords';
import type { AuthRateLimiters } from '../rate-limit/limiters';
import { sessionBodySchema, signinBodySchema } from './schemas';
import { startSession } from './session';

export const SIGNIN_PATH = '/api/users/signin';

/**
 * POST /api/users/signin → 200 {id, email, token} and the session cookie. An unknown email and a wrong password
 * get the same 400 after the same amount of hashing, so neither the answer nor its timing reveals accounts.
 * Both count as a failed sign-in of that email from the client's address; a right password takes its attempt
 * back. 429 once the address, or the email from this address, has no attempts left.
 */
export function signinRoute(
  api: ApiRouter,
  users: UserModel,
  limiters: AuthRateLimiters,
  config: AuthConfig,
): void {
  api.route({
    method: 'post',
    path: SIGNIN_PATH,
    operationId: 'signIn',
    summary: 'Sign in with email and password',
    auth: 'none',
    // Before validation: invalid requests count against the address's budget too.
    before: [limiters.perAddress],
    body: signinBodySchema,
    responses: {
      200: {
        description: 'Signed in: the user and its JWT; the `session` cookie carries the same JWT',
        schema: sessionBodySchema,
      },
      400: 'Invalid input (field named), or `Invalid credentials` for an unknown email and a wrong password alike',
      429: tooManyRequestsAnswer(
        'Too many attempts from this client address, or (sign-in) too many failed sign-ins for this email from it',
      ),
    },
    handler: async (req, res) => {
      const { email, password } = req.body;
      const attempt = await limiters.signinAttempt(req, email);
      const user = await users
        .findOne({ email })
        .select('+passwordHash')
        .lean<{ _id: unknown; email: string; passwordHash: string }>();
      const valid = user
        ? await verifyPassword(password, user.passwordHash)
        : await verifyAgainstDummy(password);
      if (!user || !valid) throw new BadRequestError('Invalid credentials');
      await attempt.release();
      res
        .status(200)
        .json(startSession(req, { id: String(user._id), email: user.email }, config.JWT_KEY, config.JWT_TTL));
    },
  });
}
