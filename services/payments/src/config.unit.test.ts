import { ConfigError, parseConfig } from '@ticketing/common';
import { paymentsConfigSchema } from './config';

const base = {
  MONGO_URL: 'mongodb://127.0.0.1:27017/payments',
  NATS_URL: 'nats://127.0.0.1:4222',
  JWT_KEY: 'test-jwt-key',
};

function issues(env: Record<string, string>) {
  try {
    parseConfig(paymentsConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('config was accepted');
}

it('requires a Stripe secret key and names it', () => {
  expect(issues(base)).toEqual([{ variable: 'STRIPE_SECRET_KEY', message: 'is required' }]);
  expect(issues({ ...base, STRIPE_SECRET_KEY: 'pk_test_123' })[0]).toMatchObject({
    variable: 'STRIPE_SECRET_KEY',
    message: expect.stringMatching(/secret key/),
  });
});

it('accepts an optional http(s) API URL and defaults the client settings', () => {
  const config = parseConfig(paymentsConfigSchema, { ...base, STRIPE_SECRET_KEY: 'sk_test_123' });
  expect(config).toMatchObject({ STRIPE_TIMEOUT_MS: 20_000, STRIPE_MAX_NETWORK_RETRIES: 2 });
  expect(config.STRIPE_API_URL).toBeUndefined();
  expect(
    parseConfig(paymentsConfigSchema, {
      ...base,
      STRIPE_SECRET_KEY: 'sk_test_123',
      STRIPE_API_URL: 'http://127.0.0.1:12111',
    }).STRIPE_API_URL,
  ).toBe('http://127.0.0.1:12111');
  expect(issues({ ...base, STRIPE_SECRET_KEY: 'sk_test_123', STRIPE_API_URL: 'ftp://x.example' })).toEqual([
    { variable: 'STRIPE_API_URL', message: expect.stringMatching(/http/) },
  ]);
  expect(issues({ ...base, STRIPE_SECRET_KEY: 'sk_test_123', STRIPE_MAX_NETWORK_RETRIES: '1.5' })).toEqual([
    { variable: 'STRIPE_MAX_NETWORK_RETRIES', message: expect.any(String) },
  ]);
});

it('defaults the claim grace period to 60 seconds and takes another whole number of seconds', () => {
  const stripe = { ...base, STRIPE_SECRET_KEY: 'sk_test_1' };
  expect(parseConfig(paymentsConfigSchema, stripe)).toMatchObject({ PAYMENT_CLAIM_GRACE_SECONDS: 60 });
  expect(
    parseConfig(paymentsConfigSchema, { ...stripe, PAYMENT_CLAIM_GRACE_SECONDS: '5' })
      .PAYMENT_CLAIM_GRACE_SECONDS,
  ).toBe(5);
  for (const bad of ['0', '-3', '1.5', 'soon']) {
    expect(issues({ ...stripe, PAYMENT_CLAIM_GRACE_SECONDS: bad })).toEqual([
      { variable: 'PAYMENT_CLAIM_GRACE_SECONDS', message: expect.any(String) },
    ]);
  }
});
