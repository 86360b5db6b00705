import { signUserToken, type UserPayload } from '@ticketing/common';
import type { Request } from 'express';

/** What sign-up and sign-in answer: the user, plus the JWT for API clients that send `Authorization: Bearer`. */
export interface SessionBody extends UserPayload {
  /** The same JWT the `session` cookie carries. */
  token: string;
}

/**
 * Signs the user's JWT and puts it in the `session` cookie (httpOnly, sameSite=lax, secure per config); the
 * cookie lives as long as the token, so a browser does not keep sending an expired one.
 */
export function startSession(
  req: Request,
  user: UserPayload,
  jwtKey: string,
  ttlSeconds: number,
): SessionBody {
  const token = signUserToken(user, jwtKey, ttlSeconds);
  req.session = { jwt: token };
  if (req.sessionOptions) req.sessionOptions.maxAge = ttlSeconds * 1000;
  return { id: user.id, email: user.email, token };
}
