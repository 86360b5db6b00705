import { ConfigError, parseConfig } from '@ticketing/common';
import { ordersConfigSchema } from './config';

const base = {
  MONGO_URL: 'mongodb://127.0.0.1:27017/orders',
  NATS_URL: 'nats://127.0.0.1:4222',
  JWT_KEY: 'test-jwt-key',
};

function configError(env: Record<string, string>): unknown {
  try {
    parseConfig(ordersConfigSchema, env);
  } catch (error) {
    return error;
  }
  return undefined;
}

it('reserves for 900 s unless ORDER_EXPIRATION_SECONDS says otherwise, and names a bad value', () => {
  expect(parseConfig(ordersConfigSchema, base).ORDER_EXPIRATION_SECONDS).toBe(900);
  expect(
    parseConfig(ordersConfigSchema, { ...base, ORDER_EXPIRATION_SECONDS: '60' }).ORDER_EXPIRATION_SECONDS,
  ).toBe(60);
  for (const bad of ['0', '-5', '1.5', 'soon']) {
    const error = configError({ ...base, ORDER_EXPIRATION_SECONDS: bad });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.variable)).toEqual([
      'ORDER_EXPIRATION_SECONDS',
    ]);
  }
});

it('holds at most 5 unpaid orders per buyer and a 60 s reorder cooldown unless configured, naming bad values', () => {
  expect(parseConfig(ordersConfigSchema, base)).toMatchObject({
    MAX_LIVE_ORDERS_PER_USER: 5,
    REORDER_COOLDOWN_SECONDS: 60,
  });
  for (const [variable, bad] of [
    ['MAX_LIVE_ORDERS_PER_USER', '0'],
    ['MAX_LIVE_ORDERS_PER_USER', 'many'],
    ['REORDER_COOLDOWN_SECONDS', '-1'],
    ['REORDER_COOLDOWN_SECONDS', '1.5'],
  ] as const) {
    const error = configError({ ...base, [variable]: bad });
    expect((error as ConfigError).issues.map((issue) => issue.variable)).toEqual([variable]);
  }
});
