/** The URL of a started server: what {@link serviceTestEnv} needs of `startNats()` and `startMongo()`. */
export interface HasUrl {
  /** Where clients connect. */
  url: string;
}

/**
 * The environment of a service under test on these servers: the test JWT key (the one `signTestUser` signs
 * with), plain-HTTP cookies, quiet logs (`TEST_LOG_LEVEL` to see them), and every answer checked against the
 * service's OpenAPI document. `overrides` adds or replaces variables.
 */
export function serviceTestEnv(
  servers: { nats: HasUrl; mongo: HasUrl },
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    NATS_URL: servers.nats.url,
    MONGO_URL: servers.mongo.url,
    JWT_KEY: process.env.JWT_KEY ?? 'test-jwt-key',
    COOKIE_SECURE: 'false',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    API_VALIDATE_RESPONSES: 'true',
    ...overrides,
  };
}
