import { ApiRouter, type ServiceDefinition } from '@ticketing/common';
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
 * every service (Mongo + NATS readiness are uniform), with no listeners and no stores for the relay.
 */
export const authService: ServiceDefinition<AuthConfig> = {
  name: 'auth',
  configSchema: authConfigSchema,
  models(connection) {
    userModel(connection);
    rateLimitHitModel(connection);
    return { outbox: [] };
  },
  workers({ connection, config, logger }) {
    const windowMs = config.AUTH_RATE_LIMIT_WINDOW_SECONDS * 1000;
    return [
      new RateLimitHitSweeper(
        rateLimitHitModel(connection),
        Math.min(windowMs, MAX_SWEEP_INTERVAL_MS),
        logger,
      ),
    ];
  },
  routes(app, { connection, config, logger }) {
    const users = userModel(connection);
    const limiters = createAuthRateLimiters(
      rateLimitHitModel(connection),
      {
        windowMs: config.AUTH_RATE_LIMIT_WINDOW_SECONDS * 1000,
        perIp: config.AUTH_RATE_LIMIT_PER_IP,
        perEmail: config.AUTH_RATE_LIMIT_PER_EMAIL,
      },
      logger,
    );
    // The first unknown-email sign-in must not be the one that pays for building the dummy hash.
    primeDummyHash().catch((error: unknown) => logger.error({ err: error }, 'could not prepare dummy hash'));
    const api = new ApiRouter({
      title: 'auth API',
      version: '1.0.0',
      validateResponses: config.API_VALIDATE_RESPONSES,
    });
    signupRoute(api, users, limiters, config);
    signinRoute(api, users, limiters, config);
    signoutRoute(api);
    currentUserRoute(api);
    api.mount(app);
  },
};
