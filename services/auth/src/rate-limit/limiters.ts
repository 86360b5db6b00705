import { rateLimited, type ServiceContext, TooManyRequestsError } from '@ticketing/common';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { AuthConfig } from '../config';

/** The limits of the credential endpoints. */
export interface AuthRateLimiters {
  /**
   * Sign-up and sign-in attempts per client address (IPv6 by /56 subnet), whatever the email: a route's
   * `before` middleware, so invalid requests count too. 429 with `Retry-After` once the budget is spent.
   */
  perAddress: RequestHandler;
  /**
   * Failed sign-ins per (email, client address). Taken before the password is checked, so simultaneous guesses
   * count too, and given back when the password was right (`release`): an attacker who keeps guessing an email
   * slows only their own address, and its owner still signs in from any other. Throws the 429 when spent.
   */
  signinAttempt(req: Request, email: string): Promise<{ release(): Promise<void> }>;
}

/** The client address a limit counts by: `req.ip` (as `TRUST_PROXY` resolves it), IPv6 by /56 subnet. */
function clientAddress(req: Request): string {
  return ipKeyGenerator(req.ip ?? 'unknown');
}

/** The per-address and per-(email, address) limits; every replica of auth shares them. */
export function createAuthRateLimiters(
  rateLimit: ServiceContext['rateLimit'],
  config: AuthConfig,
): AuthRateLimiters {
  const windowMs = config.AUTH_RATE_LIMIT_WINDOW_SECONDS * 1000;
  const perAddress = rateLimit({ name: 'address', limit: config.AUTH_RATE_LIMIT_PER_IP, windowMs });
  const failedSignins = rateLimit({
    name: 'signin-failures',
    limit: config.AUTH_RATE_LIMIT_FAILED_SIGNINS_PER_EMAIL_AND_IP,
    windowMs,
  });
  return {
    perAddress: rateLimited(perAddress, (req) => [clientAddress(req)]),
    async signinAttempt(req, email) {
      const decision = await failedSignins.attempt([email, clientAddress(req)]);
      if (!decision.admitted) throw new TooManyRequestsError(decision.retryAfterMs / 1000);
      return decision;
    },
  };
}
