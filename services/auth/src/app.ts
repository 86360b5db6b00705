import type { ServiceDefinition } from '@ticketing/common';
import { type AuthConfig, authConfigSchema } from './config';
import { userModel } from './models/user';
import { primeDummyHash } from './passwords/passwords';
import { createAuthRateLimiters } from './rate-limit/limiters';
import { currentUserRoute } from './routes/current-user';
import { deleteAccountRoute, type ErasureState } from './routes/delete-account';
import { signinRoute } from './routes/signin';
import { signoutRoute } from './routes/signout';
import { signupRoute } from './routes/signup';

/**
 * The auth service: users, sign-up/sign-in/sign-out, the current user, and erasure of an account (user.deleted on
 * the USERS stream, its one event).
 */
export const authService: ServiceDefinition<AuthConfig> = {
  name: 'auth',
  configSchema: authConfigSchema,
  build({ connection, config, logger, rateLimit, store }) {
    const users = userModel(connection);
    const erasures = store<ErasureState>('erasures');
    const limiters = createAuthRateLimiters(rateLimit, config);
    // The first unknown-email sign-in must not be the one that pays for building the dummy hash.
    primeDummyHash().catch((error: unknown) => logger.error({ err: error }, 'could not prepare dummy hash'));
    return {
      routes(api) {
        signupRoute(api, users, limiters, config);
        signinRoute(api, users, limiters, config);
        signoutRoute(api);
        currentUserRoute(api, users);
        deleteAccountRoute(api, users, erasures);
      },
      stores: { erasures },
    };
  },
};
