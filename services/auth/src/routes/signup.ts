import { ConflictError, validate } from '@ticketing/common';
import type { IRouter } from 'express';
import type { AuthConfig } from '../config';
import type { UserModel } from '../models/user';
import { hashPassword } from '../passwords/passwords';
import type { AuthRateLimiters } from '../rate-limit/limiters';
import { type CredentialsBody, signupBodySchema } from './schemas';
import { startSession } from './session';

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

/** POST /api/users/signup → 201 {id, email, token} and the session cookie; 409 when the email is taken. */
export function mountSignup(
  router: IRouter,
  users: UserModel,
  limiters: AuthRateLimiters,
  config: AuthConfig,
): void {
  router.post(
    '/api/users/signup',
    limiters.perIp,
    validate({ body: signupBodySchema }),
    limiters.perEmail,
    async (req, res) => {
      const { email, password } = req.body as CredentialsBody;
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
  );
}
