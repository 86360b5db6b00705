import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';
import {
  ConfigError,
  envBoolean,
  envDurationSeconds,
  envPort,
  envUrl,
  parseConfig,
  serviceConfigSchema,
} from './config';

const valid = {
  MONGO_URL: 'mongodb://127.0.0.1:27017/tickets',
  NATS_URL: 'nats://127.0.0.1:4222',
  JWT_KEY: 'test-jwt-key',
};

function issuesOf(fn: () => unknown): ConfigError['issues'] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig with serviceConfigSchema', () => {
  it('parses a minimal environment and fills the defaults', () => {
    expect(parseConfig(serviceConfigSchema, valid)).toEqual({
      ...valid,
      PORT: 3000,
      HOST: '0.0.0.0',
      TRUST_PROXY: ['loopback'],
      JWT_MAX_AGE_SECONDS: 86_400,
      HTTP_HEADERS_TIMEOUT_SECONDS: 20,
      HTTP_REQUEST_TIMEOUT_SECONDS: 60,
      HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: 5,
      NATS_STREAM_REPLICAS: 1,
      REPLICA_WAIT_MS: 3000,
      API_VALIDATE_RESPONSES: false,
      COOKIE_SECURE: true,
      LOG_LEVEL: 'info',
    });
  });

  it('ignores unrelated variables and reads the optional ones', () => {
    const config = parseConfig(serviceConfigSchema, {
      ...valid,
      PATH: '/usr/bin',
      PORT: '4000',
      NATS_URL: 'nats://a:4222, nats://b:4222,tls://c:4222',
      NATS_USER: 'svc',
      NATS_PASSWORD: 's3cret',
      COOKIE_SECURE: 'false',
      LOG_LEVEL: 'debug',
      MONGO_URL: 'mongodb+srv://user:pw@cluster0.example.net/db?retryWrites=true',
    });
    expect(config).toMatchObject({
      PORT: 4000,
      NATS_USER: 'svc',
      NATS_PASSWORD: 's3cret',
      COOKIE_SECURE: false,
    });
    expect(config).not.toHaveProperty('PATH');
  });

  it('reads OTEL_EXPORTER_OTLP_ENDPOINT (tracing on) as an absolute URL, and names it when it is not one', () => {
    expect(
      parseConfig(serviceConfigSchema, { ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }),
    ).toMatchObject({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' });
    expect(parseConfig(serviceConfigSchema, valid)).not.toHaveProperty('OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(
      issuesOf(() =>
        parseConfig(serviceConfigSchema, { ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: '127.0.0.1:4318' }),
      ),
    ).toEqual([{ variable: 'OTEL_EXPORTER_OTLP_ENDPOINT', message: 'must be an absolute URL' }]);
  });

  it('names a missing JWT_KEY and a bad MONGO_URL in one ConfigError', () => {
    const env = { ...valid, JWT_KEY: undefined, MONGO_URL: 'http://127.0.0.1:27017' };
    let error: unknown;
    try {
      parseConfig(serviceConfigSchema, env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.name).toBe('ConfigError');
    expect(configError.code).toBe('CONFIG_INVALID');
    expect(configError.issues).toEqual([
      { variable: 'MONGO_URL', message: 'must be a mongodb:// or mongodb+srv:// URL' },
      { variable: 'JWT_KEY', message: 'is required' },
    ]);
    expect(configError.message).toContain('MONGO_URL: must be a mongodb:// or mongodb+srv:// URL');
    expect(configError.message).toContain('JWT_KEY: is required');
  });

  it('treats an empty variable as unset', () => {
    expect(issuesOf(() => parseConfig(serviceConfigSchema, { ...valid, JWT_KEY: '' }))).toEqual([
      { variable: 'JWT_KEY', message: 'is required' },
    ]);
    expect(parseConfig(serviceConfigSchema, { ...valid, PORT: '' }).PORT).toBe(3000);
  });

  it('lists every problem at once, pairing checks included', () => {
    const issues = issuesOf(() =>
      parseConfig(serviceConfigSchema, {
        PORT: '70000',
        NATS_URL: 'http://nats:4222',
        NATS_USER: 'svc',
        JWT_KEY: 'short',
        COOKIE_SECURE: 'yes',
        LOG_LEVEL: 'loud',
      }),
    );
    expect(issues.map((i) => i.variable)).toEqual([
      'PORT',
      'MONGO_URL',
      'NATS_URL',
      'JWT_KEY',
      'COOKIE_SECURE',
      'LOG_LEVEL',
      'NATS_PASSWORD',
    ]);
    expect(issues.find((i) => i.variable === 'NATS_PASSWORD')?.message).toBe(
      'is required when NATS_USER is set',
    );
  });

  it('wants NATS_USER with NATS_PASSWORD', () => {
    expect(issuesOf(() => parseConfig(serviceConfigSchema, { ...valid, NATS_PASSWORD: 'x' }))).toEqual([
      { variable: 'NATS_USER', message: 'is required when NATS_PASSWORD is set' },
    ]);
  });

  it('extends with service variables, keeping the common checks', () => {
    const schema = serviceConfigSchema.extend({
      ORDER_EXPIRATION_SECONDS: envDurationSeconds.default(900),
      STRIPE_URL: envUrl.optional(),
    });
    const config = parseConfig(schema, { ...valid, STRIPE_URL: 'http://127.0.0.1:12111' });
    expect(config.ORDER_EXPIRATION_SECONDS).toBe(900);
    expect(config.STRIPE_URL).toBe('http://127.0.0.1:12111');
    const issues = issuesOf(() =>
      parseConfig(schema, {
        ...valid,
        ORDER_EXPIRATION_SECONDS: '1.5',
        NATS_USER: 'svc',
        STRIPE_URL: 'nope',
      }),
    );
    expect(issues.map((i) => i.variable)).toEqual([
      'ORDER_EXPIRATION_SECONDS',
      'STRIPE_URL',
      'NATS_PASSWORD',
    ]);
    const notANumber = issuesOf(() => parseConfig(schema, { ...valid, PORT: 'abc', NATS_PASSWORD: 'pw' }));
    expect(notANumber).toEqual([
      { variable: 'PORT', message: 'must be a port number' },
      { variable: 'NATS_USER', message: 'is required when NATS_PASSWORD is set' },
    ]);
  });
});

describe('env pieces', () => {
  const parse = <S extends z.ZodType>(schema: S, value: string | undefined) =>
    z.object({ V: schema }).safeParse(value === undefined ? {} : { V: value });

  it('envPort: 0-65535 (0 = any free port), default 3000', () => {
    expect(parse(envPort, undefined).data).toEqual({ V: 3000 });
    expect(parse(envPort, '8080').data).toEqual({ V: 8080 });
    expect(parse(envPort, '0').data).toEqual({ V: 0 });
    for (const bad of ['65536', 'abc', '80.5', '-1']) {
      expect(parse(envPort, bad).success).toBe(false);
    }
  });

  it('envBoolean: true/false/1/0 only', () => {
    expect(parse(envBoolean, 'true').data).toEqual({ V: true });
    expect(parse(envBoolean, 'TRUE').data).toEqual({ V: true });
    expect(parse(envBoolean, '1').data).toEqual({ V: true });
    expect(parse(envBoolean, 'false').data).toEqual({ V: false });
    expect(parse(envBoolean, '0').data).toEqual({ V: false });
    for (const bad of ['yes', 'no', 'on', '2', '']) {
      expect(parse(envBoolean, bad).success).toBe(false);
    }
  });

  it('envDurationSeconds: positive whole seconds', () => {
    expect(parse(envDurationSeconds, '900').data).toEqual({ V: 900 });
    for (const bad of ['0', '-5', '1.5', 'soon', undefined]) {
      expect(parse(envDurationSeconds, bad).success).toBe(false);
    }
  });

  it('envUrl: absolute URLs', () => {
    expect(parse(envUrl, 'http://127.0.0.1:12111').success).toBe(true);
    expect(parse(envUrl, 'not a url').success).toBe(false);
  });
});

describe('the edge: HOST, TRUST_PROXY, JWT_MAX_AGE_SECONDS, HTTP timeouts', () => {
  it('reads the forms Express takes for trust proxy: hop counts, names, addresses, CIDRs', () => {
    const trust = (value: string) =>
      parseConfig(serviceConfigSchema, { ...valid, TRUST_PROXY: value }).TRUST_PROXY;
    expect(trust('1')).toBe(1);
    expect(trust('0')).toBe(0);
    expect(trust('loopback')).toEqual(['loopback']);
    expect(trust(' loopback, 10.0.0.0/8 ,fd00::/8, 192.0.2.1,uniquelocal,linklocal')).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::/8',
      '192.0.2.1',
      'uniquelocal',
      'linklocal',
    ]);
  });

  it.each([
    ['true', /must not be true/],
    ['TRUE', /must not be true/],
    ['everyone', /must be a hop count/],
    ['10.0.0.0/33', /must be a hop count/],
    ['10.0.0/8', /must be a hop count/],
    ['loopback,', /must be a hop count/],
    ['1.5', /must be a hop count/],
  ])('refuses TRUST_PROXY=%s, naming it', (value, message) => {
    const issues = issuesOf(() => parseConfig(serviceConfigSchema, { ...valid, TRUST_PROXY: value }));
    expect(issues).toEqual([{ variable: 'TRUST_PROXY', message: expect.stringMatching(message) }]);
  });

  it('takes an IP literal or localhost for HOST', () => {
    for (const host of ['127.0.0.1', '::', '::1', '0.0.0.0', 'localhost']) {
      expect(parseConfig(serviceConfigSchema, { ...valid, HOST: host }).HOST).toBe(host);
    }
    for (const bad of ['example.com', '127.0.0.1:80', '300.1.1.1']) {
      expect(issuesOf(() => parseConfig(serviceConfigSchema, { ...valid, HOST: bad }))).toEqual([
        { variable: 'HOST', message: 'must be an IP address or localhost' },
      ]);
    }
  });

  it('wants HTTP_HEADERS_TIMEOUT_SECONDS within HTTP_REQUEST_TIMEOUT_SECONDS, and whole positive seconds', () => {
    expect(
      issuesOf(() =>
        parseConfig(serviceConfigSchema, {
          ...valid,
          HTTP_HEADERS_TIMEOUT_SECONDS: '30',
          HTTP_REQUEST_TIMEOUT_SECONDS: '10',
        }),
      ),
    ).toEqual([
      { variable: 'HTTP_HEADERS_TIMEOUT_SECONDS', message: 'must not exceed HTTP_REQUEST_TIMEOUT_SECONDS' },
    ]);
    const issues = issuesOf(() =>
      parseConfig(serviceConfigSchema, {
        ...valid,
        HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '0',
        JWT_MAX_AGE_SECONDS: 'a day',
      }),
    );
    expect(issues.map((issue) => issue.variable)).toEqual([
      'JWT_MAX_AGE_SECONDS',
      'HTTP_KEEP_ALIVE_TIMEOUT_SECONDS',
    ]);
  });
});

describe('loadConfig in a real process', () => {
  // The child loads this package's TypeScript source through @swc/core (the compiler jest uses), so the test
  // needs no prior build and exercises the real process.exit and stderr path.
  const script = `
    require.extensions['.ts'] = (module, filename) => {
      const { transformFileSync } = require('@swc/core');
      const { code } = transformFileSync(filename, {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      });
      module._compile(code, filename);
    };
    const { loadConfig, serviceConfigSchema } = require(${JSON.stringify(path.join(__dirname, 'config.ts'))});
    const config = loadConfig(serviceConfigSchema);
    process.stdout.write(JSON.stringify(config));
  `;

  function run(env: Record<string, string>) {
    return spawnSync(process.execPath, ['-e', script], {
      cwd: path.join(__dirname, '..'),
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
  }

  it('exits 1 naming each bad variable on stderr', () => {
    const child = run({ NATS_URL: valid.NATS_URL, MONGO_URL: 'postgres://db' });
    expect(child.status).toBe(1);
    expect(child.stdout).toBe('');
    expect(child.stderr).toBe(
      'Invalid configuration:\n  MONGO_URL: must be a mongodb:// or mongodb+srv:// URL\n  JWT_KEY: is required\n',
    );
  });

  it('exits 1 on TRUST_PROXY=true, naming it', () => {
    const child = run({ ...valid, TRUST_PROXY: 'true' });
    expect(child.status).toBe(1);
    expect(child.stderr).toMatch(/^Invalid configuration:\n {2}TRUST_PROXY: must not be true/);
  });

  it('returns the config when the environment is valid', () => {
    const child = run(valid);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout)).toMatchObject({ ...valid, PORT: 3000 });
  });
});

describe('NATS_STREAM_REPLICAS', () => {
  const base = {
    MONGO_URL: 'mongodb://127.0.0.1:27017/x',
    NATS_URL: 'nats://127.0.0.1:4222',
    JWT_KEY: 'test-jwt-key',
  };

  it('defaults to 1 and accepts the odd cluster sizes', () => {
    expect(parseConfig(serviceConfigSchema, base).NATS_STREAM_REPLICAS).toBe(1);
    expect(
      parseConfig(serviceConfigSchema, { ...base, NATS_STREAM_REPLICAS: '3' }).NATS_STREAM_REPLICAS,
    ).toBe(3);
  });

  it('names the variable when the value is not a JetStream replica count', () => {
    expect(() => parseConfig(serviceConfigSchema, { ...base, NATS_STREAM_REPLICAS: '2' })).toThrow(
      /NATS_STREAM_REPLICAS/,
    );
  });
});
