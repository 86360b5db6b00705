import type { ServiceDefinition } from '@ticketing/common';
import { type AuthConfig, authConfigSchema } from './config';
import { userModel } from './models/user';
import { primeDummyHash } from './passwords/passwords';
import { createAuthRateLimiters } from './rate-limit/limiters';
import { RateLimitHitSweeper, rateLimitHitModel } from './rate-limit/mongo-store';
import { currentUserRoute } from './routes/current-user';
import { signinRoute } from './routes/signin';
import { signoutRoute } from './routes/signout';
import { signupRoute } from './routes/signup';

// Expired hits are swept at least this often, whatever the window.
const MAX_SWEEP_INTERVAL_MS = 60_000;

/**
 * The auth service: users, sign-up/sign-in/sign-out and the current user. It owns no events, but starts like
 * every service (Mongo + NATS readiness are uniform).
 */
export const authService: ServiceDefinition<AuthConfig> = {
  name: 'auth',
  configSchema: authConfigSchema,
  build({ connection, config, logger }) {
    const users = userModel(connection);
    const hits = rateLimitHitModel(connection);
    const windowMs = config.AUTH_RATE_LIMIT_WINDOW_SECONDS * 1000;
    const limiters = createAuthRateLimiters(
      hits,
      { windowMs, perIp: config.AUTH_RATE_LIMIT_PER_IP, perEmail: config.AUTH_RATE_LIMIT_PER_EMAIL },
      logger,
    );
    // The first unknown-email sign-in must not be the one that pays for building the dummy hash.
    primeDummyHash().catch((error: unknown) => logger.error({ err: error }, 'could not prepare dummy hash'));
    return {
      routes(api) {
        signupRoute(api, users, limiters, config);
        signinRoute(api, users, limiters, config);
        signoutRoute(api);
        currentUserRoute(api);
      },
      workers: [new RateLimitHitSweeper(hits, Math.min(windowMs, MAX_SWEEP_INTERVAL_MS), logger)],
    };
  },
};
