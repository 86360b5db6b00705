import { ConfigError, parseConfig } from '@ticketing/common';
import { expirationConfigSchema } from './config';

const base = {
  MONGO_URL: 'mongodb://127.0.0.1:27017/expiration',
  NATS_URL: 'nats://127.0.0.1:4222',
  JWT_KEY: 'test-jwt-key',
};

function badVariables(env: Record<string, string>): string[] {
  try {
    parseConfig(expirationConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return [...new Set(error.issues.map((issue) => issue.variable))];
    throw error;
  }
  throw new Error('config was accepted');
}

it('polls every second by default and accepts another whole number of milliseconds', () => {
  expect(parseConfig(expirationConfigSchema, base).EXPIRATION_POLL_MS).toBe(1000);
  expect(parseConfig(expirationConfigSchema, { ...base, EXPIRATION_POLL_MS: '250' }).EXPIRATION_POLL_MS).toBe(
    250,
  );
});

it.each(['abc', '0', '12.5', '-1'])('rejects EXPIRATION_POLL_MS=%s naming the variable', (value) => {
  expect(badVariables({ ...base, EXPIRATION_POLL_MS: value })).toEqual(['EXPIRATION_POLL_MS']);
});
