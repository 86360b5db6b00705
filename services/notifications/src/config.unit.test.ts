import { ConfigError, parseConfig } from '@ticketing/common';
import { notificationsConfigSchema } from './config';

const base = {
  MONGO_URL: 'mongodb://127.0.0.1:27017/notifications',
  NATS_URL: 'nats://127.0.0.1:4222',
  JWT_KEY: 'test-jwt-key',
};

function badVariables(env: Record<string, string>): string[] {
  try {
    parseConfig(notificationsConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return [...new Set(error.issues.map((issue) => issue.variable))];
    throw error;
  }
  throw new Error('config was accepted');
}

it('defaults to https-only public receivers, the contract’s retry schedule, 24 h and 10 endpoints', () => {
  expect(parseConfig(notificationsConfigSchema, base)).toMatchObject({
    WEBHOOK_ALLOW_HTTP: false,
    WEBHOOK_ALLOW_PRIVATE: false,
    WEBHOOK_RETRY_SCHEDULE: [5, 30, 120, 600, 3600],
    WEBHOOK_MAX_AGE_SECONDS: 86_400,
    WEBHOOK_TIMEOUT_MS: 10_000,
    WEBHOOK_MAX_ENDPOINTS_PER_USER: 10,
  });
  expect(
    parseConfig(notificationsConfigSchema, { ...base, WEBHOOK_RETRY_SCHEDULE: '1, 2,3' })
      .WEBHOOK_RETRY_SCHEDULE,
  ).toEqual([1, 2, 3]);
});

it.each([
  ['WEBHOOK_RETRY_SCHEDULE', '5,,30'],
  ['WEBHOOK_RETRY_SCHEDULE', '0'],
  ['WEBHOOK_ALLOW_PRIVATE', 'yes'],
  ['WEBHOOK_MAX_AGE_SECONDS', '1.5'],
  ['WEBHOOK_TIMEOUT_MS', '10'],
  ['WEBHOOK_MAX_ENDPOINTS_PER_USER', '0'],
])('rejects %s=%s naming the variable', (variable, value) => {
  expect(badVariables({ ...base, [variable]: value })).toEqual([variable]);
});
