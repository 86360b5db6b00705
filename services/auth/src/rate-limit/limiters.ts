import { type Logger, TooManyRequestsError } from '@ticketing/common';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Model } from 'mongoose';
import { MongoRateLimitStore, type RateLimitHit } from './mongo-store';

/** Limits of the sign-up/sign-in endpoints. */
export interface AuthRateLimits {
  /** Window length, in ms. */
  windowMs: number;
  /** Attempts per client IP per window. */
  perIp: number;
  /** Attempts per email per window, whatever the IP. */
  perEmail: number;
}

/** The two limiters every credential endpoint passes through. */
export interface AuthRateLimiters {
  /** Counts by client IP (IPv6 by /56 subnet); runs before validation so junk requests count too. */
  perIp: RequestHandler;
  /** Counts by normalised email; runs after validation, which supplies that email in `req.body`. */
  perEmail: RequestHandler;
}

/**
 * Runs a limiter inside a route handler: resolves when the request may go on, rejects with the 429 error when
 * it may not. The per-email limiter needs the validated body, which only the handler of an ApiRouter
 * operation sees; rejecting there sends the 429 through the operation's answer check like any other error.
 */
export function passLimiter(limiter: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    const next = (error?: unknown) => (error ? reject(error) : resolve());
    Promise.resolve(limiter(req, res, next)).catch(reject);
  });
}

// The error handler turns this into 429 + Retry-After, in the standard error body.
function tooManyRequests(req: Request): TooManyRequestsError {
  const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
  const seconds = resetTime ? (resetTime.getTime() - Date.now()) / 1000 : undefined;
  return new TooManyRequestsError(seconds === undefined ? undefined : Math.max(1, seconds));
}

/**
 * Builds the per-IP and per-email limiters of sign-up and sign-in, counted in Mongo so that the limits hold
 * across replicas. The client IP is Express's `req.ip`, which honours exactly one proxy hop (createHttpApp).
 */
export function createAuthRateLimiters(
  hits: Model<RateLimitHit>,
  limits: AuthRateLimits,
  logger: Logger,
): AuthRateLimiters {
  const common = {
    windowMs: limits.windowMs,
    standardHeaders: false,
    legacyHeaders: false,
    // A failing hit store must not lock everyone out of signing in; it is logged instead.
    passOnStoreError: true,
    logger: {
      warn: (...args: unknown[]) => logger.warn({ detail: args }, 'rate limiter warning'),
      error: (...args: unknown[]) => logger.error({ detail: args }, 'rate limiter error'),
    },
    handler: (req: Request, _res: unknown, next: (error: unknown) => void) => next(tooManyRequests(req)),
  } as const;
  return {
    perIp: rateLimit({
      ...common,
      limit: limits.perIp,
      store: new MongoRateLimitStore(hits, 'ip:'),
      keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
    }),
    perEmail: rateLimit({
      ...common,
      limit: limits.perEmail,
      store: new MongoRateLimitStore(hits, 'email:'),
      keyGenerator: (req) => String((req.body as { email?: unknown }).email),
    }),
  };
}
