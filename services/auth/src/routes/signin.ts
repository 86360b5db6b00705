import { BadRequestError, validate } from '@ticketing/common';
import type { IRouter } from 'express';
import type { AuthConfig } from '../config';
import type { UserModel } from '../models/user';
import { verifyAgainstDummy, verifyPassword } from '../passwords/passwords';
import type { AuthRateLimiters } from '../rate-limit/limiters';
import { type CredentialsBody, signinBodySchema } from './schemas';
import { startSession } from './session';

/**
 * POST /api/users/signin → 200 {id, email, token} and the session cookie. An unknown email and a wrong password
 * get the same 400 after the same amount of hashing, so neither the answer nor its timing reveals accounts.
 */
export function mountSignin(
  router: IRouter,
  users: UserModel,
  limiters: AuthRateLimiters,
  config: AuthConfig,
): void {
  router.post(
    '/api/users/signin',
    limiters.perIp,
    validate({ body: signinBodySchema }),
    limiters.perEmail,
    async (req, res) => {
      const { email, password } = req.body as CredentialsBody;
      const user = await users
        .findOne({ email })
        .select('+passwordHash')
        .lean<{ _id: unknown; email: string; passwordHash: string }>();
      const valid = user
        ? await verifyPassword(password, user.passwordHash)
        : await verifyAgainstDummy(password);
      if (!user || !valid) throw new BadRequestError('Invalid credentials');
      res
        .status(200)
        .json(startSession(req, { id: String(user._id), email: user.email }, config.JWT_KEY, config.JWT_TTL));
    },
  );
}
