import { createHmac } from 'node:crypto';
import { type Logger, TooManyRequestsError } from '@ticketing/common';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { Connection } from 'mongoose';
import type { AuthConfig } from '../config';
import { type AdmittedAttempt, RateLimitSweeper, SlidingWindowLimit } from './sliding-window';

/** The limits of the credential endpoints (DESIGN.md, "Auth throttling"). */
export interface AuthRateLimiters {
  /**
   * Sign-up and sign-in attempts per client address (IPv6 by /56 subnet), whatever the email: a route's
   * `before` middleware, so invalid requests count too. 429 with `Retry-After` once the budget is spent.
   */
  perAddress: RequestHandler;
  /**
   * Failed sign-ins per (email, client address). Taken before the password is checked, so simultaneous guesses
   * count too, and given back when the password was right: an attacker who keeps guessing an email slows only
   * their own address, and its owner still signs in from any other. Throws the 429 when the budget is spent.
   */
  signinAttempt(req: Request, email: string): Promise<AdmittedAttempt>;
}

/** The client address a limit counts by: `req.ip` (as `TRUST_PROXY` resolves it), IPv6 by /56 subnet. */
function clientAddress(req: Request): string {
  return ipKeyGenerator(req.ip ?? 'unknown');
}

function tooManyRequests(retryAfterMs: number): TooManyRequestsError {
  return new TooManyRequestsError(retryAfterMs / 1000);
}

/**
 * The per-address and per-(email, address) limits, counted in Mongo so that every replica of auth shares them.
 * Stored keys are HMACs under a key derived from `JWT_KEY`: the log holds no email or address (an erased
 * account leaves nothing behind), and rotating `JWT_KEY` simply starts every budget afresh.
 */
export function createAuthRateLimiters(connection: Connection, config: AuthConfig): AuthRateLimiters {
  const keySecret = createHmac('sha256', config.JWT_KEY).update('auth rate-limit keys').digest();
  const windowMs = config.AUTH_RATE_LIMIT_WINDOW_SECONDS * 1000;
  const perAddress = new SlidingWindowLimit(connection, {
    name: 'address',
    limit: config.AUTH_RATE_LIMIT_PER_IP,
    windowMs,
    keySecret,
  });
  const failedSignins = new SlidingWindowLimit(connection, {
    name: 'signin-failures',
    limit: config.AUTH_RATE_LIMIT_FAILED_SIGNINS_PER_EMAIL_AND_IP,
    windowMs,
    keySecret,
  });
  return {
    perAddress: (req, _res, next) => {
      perAddress
        .attempt([clientAddress(req)])
        .then(
          (decision) => next(decision.admitted ? undefined : tooManyRequests(decision.retryAfterMs)),
          next,
        );
    },
    async signinAttempt(req, email) {
      const decision = await failedSignins.attempt([email, clientAddress(req)]);
      if (!decision.admitted) throw tooManyRequests(decision.retryAfterMs);
      return decision;
    },
  };
}

// Expired records are swept at least this often, whatever the window.
const MAX_SWEEP_INTERVAL_MS = 60_000;

/** The worker that deletes rate-limit records once they left the window. */
export function createRateLimitSweeper(
  connection: Connection,
  config: AuthConfig,
  logger: Logger,
): RateLimitSweeper {
  return new RateLimitSweeper(
    connection,
    Math.min(config.AUTH_RATE_LIMIT_WINDOW_SECONDS * 1000, MAX_SWEEP_INTERVAL_MS),
    logger,
  );
}
