import { ConfigError, parseConfig } from '@ticketing/common';
import { authConfigSchema } from './config';

const base = { MONGO_URL: 'mongodb://127.0.0.1:27017/auth', NATS_URL: 'nats://127.0.0.1:4222' };

describe('auth config', () => {
  it('requires JWT_KEY, naming it', () => {
    expect(() => parseConfig(authConfigSchema, base)).toThrow(ConfigError);
    try {
      parseConfig(authConfigSchema, base);
    } catch (error) {
      expect((error as ConfigError).issues).toContainEqual({ variable: 'JWT_KEY', message: 'is required' });
    }
  });

  it('defaults JWT_TTL to one day and the limits to 100 per address, 10 failed sign-ins per email and address per 15 minutes', () => {
    const config = parseConfig(authConfigSchema, { ...base, JWT_KEY: 'a-long-enough-key' });
    expect(config.JWT_TTL).toBe(86_400);
    expect(config.JWT_MAX_AGE_SECONDS).toBe(86_400);
    expect(config.AUTH_RATE_LIMIT_WINDOW_SECONDS).toBe(900);
    expect(config.AUTH_RATE_LIMIT_PER_IP).toBe(100);
    expect(config.AUTH_RATE_LIMIT_FAILED_SIGNINS_PER_EMAIL_AND_IP).toBe(10);
  });

  it('will not issue tokens that the services refuse: JWT_TTL at most JWT_MAX_AGE_SECONDS', () => {
    const key = { ...base, JWT_KEY: 'a-long-enough-key' };
    expect(
      parseConfig(authConfigSchema, { ...key, JWT_TTL: '3600', JWT_MAX_AGE_SECONDS: '3600' }).JWT_TTL,
    ).toBe(3600);
    expect(() => parseConfig(authConfigSchema, { ...key, JWT_TTL: '172800' })).toThrow(
      /JWT_TTL: must not exceed JWT_MAX_AGE_SECONDS/,
    );
    expect(() =>
      parseConfig(authConfigSchema, { ...key, JWT_TTL: '600', JWT_MAX_AGE_SECONDS: '300' }),
    ).toThrow(/JWT_TTL: must not exceed JWT_MAX_AGE_SECONDS/);
  });

  it('refuses the retired per-email limit, which let strangers lock accounts out', () => {
    expect(() =>
      parseConfig(authConfigSchema, {
        ...base,
        JWT_KEY: 'a-long-enough-key',
        AUTH_RATE_LIMIT_PER_EMAIL: '10',
      }),
    ).toThrow(/AUTH_RATE_LIMIT_PER_EMAIL: is no longer read/);
  });

  it('rejects a bad TTL or limit, naming each variable', () => {
    try {
      parseConfig(authConfigSchema, {
        ...base,
        JWT_KEY: 'a-long-enough-key',
        JWT_TTL: '1d',
        AUTH_RATE_LIMIT_PER_IP: '0',
        AUTH_RATE_LIMIT_FAILED_SIGNINS_PER_EMAIL_AND_IP: '2.5',
      });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const variables = (error as ConfigError).issues.map((issue) => issue.variable);
      expect(variables).toEqual(
        expect.arrayContaining([
          'JWT_TTL',
          'AUTH_RATE_LIMIT_PER_IP',
          'AUTH_RATE_LIMIT_FAILED_SIGNINS_PER_EMAIL_AND_IP',
        ]),
      );
    }
  });
});
