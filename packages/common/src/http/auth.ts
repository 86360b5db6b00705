// Services set `req.session = { jwt }`; this makes cookie-session's Request typing reach them through our types,
// since their tsconfig lists `types` explicitly and would not pick it up on its own.
/// <reference types="cookie-session" preserve="true" />
import cookieSession from 'cookie-session';
import type { Request, RequestHandler } from 'express';
import jwt, { type SignOptions } from 'jsonwebtoken';
import { z } from 'zod';
import { NotAuthorizedError } from './errors';

/** The signed-in user as carried in the JWT and set on `req.currentUser`. */
export interface UserPayload {
  /** User id (the auth service's Mongo id). */
  id: string;
  /** The user's email. */
  email: string;
}

declare global {
  namespace Express {
    interface Request {
      /** The signed-in user, set by `currentUser()`; undefined when no valid token came with the request. */
      currentUser?: UserPayload;
    }
  }
}

/** Token lifetime: seconds, or a duration string such as `'15m'` or `'1h'`. */
export type TokenLifetime = NonNullable<SignOptions['expiresIn']>;

// Pinning the algorithm stops a token signed with another one (or `none`) from being accepted.
const ALGORITHM = 'HS256';

/** A token may live at most a day (`JWT_MAX_AGE_SECONDS`), whoever signed it. */
export const DEFAULT_JWT_MAX_AGE_SECONDS = 86_400;

// Clocks of the services may differ a little; a token issued "in the future" by more than this is refused.
const CLOCK_TOLERANCE_SECONDS = 60;

const userPayloadSchema = z.object({ id: z.string().min(1), email: z.string().min(1) });
const lifetimeSchema = z.object({ iat: z.number().int(), exp: z.number().int() });

/** Options of {@link verifyUserToken} and {@link currentUser}. */
export interface TokenCheckOptions {
  /** Longest lifetime (`exp - iat`) accepted, in seconds; default {@link DEFAULT_JWT_MAX_AGE_SECONDS}. */
  maxAgeSeconds?: number;
}

/** Signs a JWT carrying `{id, email}` that expires after `expiresIn`. */
export function signUserToken(user: UserPayload, key: string, expiresIn: TokenLifetime): string {
  return jwt.sign({ id: user.id, email: user.email }, key, { algorithm: ALGORITHM, expiresIn });
}

/**
 * The user a token carries, or null when it is expired, forged, malformed or of the wrong shape; never throws.
 * A token must carry `iat` and `exp` and live at most `maxAgeSeconds`: one without `exp` would work forever,
 * and one signed for a century is as bad. `iat` may not lie in the future either, or a far-future `iat` would
 * stretch the lifetime check.
 */
export function verifyUserToken(
  token: string,
  key: string,
  options: TokenCheckOptions = {},
): UserPayload | null {
  let decoded: unknown;
  try {
    decoded = jwt.verify(token, key, { algorithms: [ALGORITHM] });
  } catch {
    return null;
  }
  const lifetime = lifetimeSchema.safeParse(decoded);
  if (!lifetime.success) return null;
  const { iat, exp } = lifetime.data;
  const maxAge = options.maxAgeSeconds ?? DEFAULT_JWT_MAX_AGE_SECONDS;
  if (exp - iat > maxAge || iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) return null;
  const parsed = userPayloadSchema.safeParse(decoded);
  return parsed.success ? { id: parsed.data.id, email: parsed.data.email } : null;
}

/** Options of {@link sessionCookie}. */
export interface SessionCookieOptions {
  /** Send the cookie over HTTPS only; false only for tests and plain-HTTP local development. */
  secure: boolean;
}

/**
 * The `session` cookie: base64 JSON `{jwt}`, unsigned because the JWT inside is itself signed and other
 * services (and non-Node clients) must read it without sharing a cookie key.
 */
export function sessionCookie(options: SessionCookieOptions): RequestHandler {
  return cookieSession({
    name: 'session',
    signed: false,
    httpOnly: true,
    sameSite: 'lax',
    secure: options.secure,
  });
}

/**
 * Sets `req.currentUser` from the session cookie's JWT, else from `Authorization: Bearer`. An invalid token just
 * means "not signed in": routes that need a user say so with {@link requireAuth}.
 */
export function currentUser(jwtKey: string, options: TokenCheckOptions = {}): RequestHandler {
  return (req, _res, next) => {
    req.currentUser = undefined;
    for (const token of candidateTokens(req)) {
      const user = verifyUserToken(token, jwtKey, options);
      if (user) {
        req.currentUser = user;
        break;
      }
    }
    next();
  };
}

/** Rejects the request with 401 unless `currentUser()` found a signed-in user. */
export const requireAuth: RequestHandler = (req, _res, next) => {
  next(req.currentUser ? undefined : new NotAuthorizedError());
};

function candidateTokens(req: Request): string[] {
  const tokens: string[] = [];
  // The cookie's content is attacker-controlled JSON: only a string jwt counts.
  const fromSession: unknown = req.session?.jwt;
  if (typeof fromSession === 'string' && fromSession.length > 0) {
    tokens.push(fromSession);
  }
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1]) {
      tokens.push(match[1]);
    }
  }
  return tokens;
}
