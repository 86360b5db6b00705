import type { ServiceDefinition } from '@ticketing/common';
import { type AuthConfig, authConfigSchema } from './config';
import { userModel } from './models/user';
import { primeDummyHash } from './passwords/passwords';
import { createAuthRateLimiters, createRateLimitSweeper } from './rate-limit/limiters';
import { rateLimitHitModel } from './rate-limit/sliding-window';
import { currentUserRoute } from './routes/current-user';
import { signinRoute } from './routes/signin';
import { signoutRoute } from './routes/signout';
import { signupRoute } from './routes/signup';

/**
 * The auth service: users, sign-up/sign-in/sign-out and the current user. It owns no events, but starts like
 * every service (Mongo + NATS readiness are uniform).
 */
export const authService: ServiceDefinition<AuthConfig> = {
  name: 'auth',
  configSchema: authConfigSchema,
  build({ connection, config, logger }) {
    const users = userModel(connection);
    rateLimitHitModel(connection);
    const limiters = createAuthRateLimiters(connection, config);
    // The first unknown-email sign-in must not be the one that pays for building the dummy hash.
    primeDummyHash().catch((error: unknown) => logger.error({ err: error }, 'could not prepare dummy hash'));
    return {
      routes(api) {
        signupRoute(api, users, limiters, config);
        signinRoute(api, users, limiters, config);
        signoutRoute(api);
        currentUserRoute(api);
      },
      workers: [createRateLimitSweeper(connection, config, logger)],
    };
  },
};
