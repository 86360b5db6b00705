import {
  type MongoHandle,
  type NatsServerHandle,
  openSlowClients,
  signTestUser,
  startMongo,
  startNats,
} from '@ticketing/testing';
import jwt from 'jsonwebtoken';
import { ConfigError, type ServiceConfig, serviceConfigSchema } from '../config';
import { requireAuth } from '../http/auth';
import { type RunningService, type ServiceDefinition, startService } from './run';

// The edge of a service as startService wires it from the config: where it listens, how long it waits for
// slow clients, whose X-Forwarded-For it believes, which tokens it accepts, which headers it answers with.

const JWT_KEY = 'test-jwt-key';

const definition: ServiceDefinition<ServiceConfig> = {
  name: 'edge',
  configSchema: serviceConfigSchema,
  build: () => ({
    routes(_api, app) {
      app.get('/api/me', requireAuth, (req, res) => {
        res.json({ id: req.currentUser!.id });
      });
      app.get('/api/ip', (req, res) => {
        res.json({ ip: req.ip });
      });
    },
  }),
};

let nats: NatsServerHandle;
let mongo: MongoHandle;
const running: RunningService[] = [];

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
});

afterAll(async () => {
  for (const service of running) await service.stop();
  await mongo?.stop();
  await nats?.close();
});

async function start(env: Record<string, string> = {}): Promise<RunningService & { base: string }> {
  const service = await startService(definition, {
    env: {
      MONGO_URL: mongo.url,
      NATS_URL: nats.url,
      JWT_KEY,
      LOG_LEVEL: 'silent',
      PORT: '0',
      HOST: '127.0.0.1',
      ...env,
    },
  });
  running.push(service);
  return Object.assign(service, { base: `http://127.0.0.1:${service.port}` });
}

describe('a service edge configured by its environment', () => {
  it('listens on HOST only', async () => {
    const service = await start();
    expect(service.server!.address()).toMatchObject({ address: '127.0.0.1' });
  });

  it('disconnects 50 slow-header clients after HTTP_HEADERS_TIMEOUT_SECONDS and keeps serving others', async () => {
    const service = await start({ HTTP_HEADERS_TIMEOUT_SECONDS: '1', HTTP_REQUEST_TIMEOUT_SECONDS: '2' });
    const slow = openSlowClients(service.port!, 50, { lineIntervalMs: 200 });
    try {
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${service.base}/healthz`);
        expect(response.status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await slow.closedWithin(5000);
      for (const client of slow.clients) {
        expect(client.closedAt! - slow.startedAt).toBeGreaterThanOrEqual(900);
        expect(client.received).toMatch(/^HTTP\/1\.1 408 /);
      }
    } finally {
      slow.stop();
    }
  });

  it('answers with helmet headers and Cache-Control: no-store, errors included', async () => {
    const service = await start();
    for (const path of ['/healthz', '/api/me', '/nowhere']) {
      const response = await fetch(`${service.base}${path}`);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-security-policy')).toBe(
        "default-src 'none';frame-ancestors 'none'",
      );
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('refuses tokens without exp, or living longer than JWT_MAX_AGE_SECONDS, by cookie and by Bearer', async () => {
    const service = await start({ JWT_MAX_AGE_SECONDS: '600' });
    const user = { id: 'a'.repeat(24), email: 'edge@example.com' };
    const now = Math.floor(Date.now() / 1000);
    const tokens = {
      withinCap: jwt.sign(user, JWT_KEY, { expiresIn: 600 }),
      noExp: jwt.sign(user, JWT_KEY),
      centuryLong: jwt.sign(user, JWT_KEY, { expiresIn: 100 * 365 * 86_400 }),
      overCap: jwt.sign(user, JWT_KEY, { expiresIn: 601 }),
      noIat: jwt.sign({ ...user, exp: now + 60 }, JWT_KEY, { noTimestamp: true }),
      futureIat: jwt.sign({ ...user, iat: now + 3600, exp: now + 3900 }, JWT_KEY),
    };
    const status = async (token: string, via: 'cookie' | 'bearer') => {
      const headers: Record<string, string> =
        via === 'bearer'
          ? { authorization: `Bearer ${token}` }
          : { cookie: `session=${Buffer.from(JSON.stringify({ jwt: token })).toString('base64')}` };
      return (await fetch(`${service.base}/api/me`, { headers })).status;
    };
    for (const via of ['cookie', 'bearer'] as const) {
      expect(await status(tokens.withinCap, via)).toBe(200);
      for (const token of [
        tokens.noExp,
        tokens.centuryLong,
        tokens.overCap,
        tokens.noIat,
        tokens.futureIat,
      ]) {
        expect(await status(token, via)).toBe(401);
      }
    }
  });

  it('caps token lifetime at one day by default', async () => {
    const service = await start();
    const day = signTestUser({}, { expiresIn: 86_400 });
    const longer = signTestUser({}, { expiresIn: 86_401 });
    expect((await fetch(`${service.base}/api/me`, { headers: { authorization: day.bearer } })).status).toBe(
      200,
    );
    expect(
      (await fetch(`${service.base}/api/me`, { headers: { authorization: longer.bearer } })).status,
    ).toBe(401);
  });

  it('believes X-Forwarded-For only from TRUST_PROXY (default: loopback)', async () => {
    const ipVia = async (service: { base: string }) =>
      (
        (await (
          await fetch(`${service.base}/api/ip`, { headers: { 'x-forwarded-for': '203.0.113.7' } })
        ).json()) as { ip: string }
      ).ip;
    expect(await ipVia(await start())).toBe('203.0.113.7');
    expect(await ipVia(await start({ TRUST_PROXY: '0' }))).toMatch(/127\.0\.0\.1$/);
    expect(await ipVia(await start({ TRUST_PROXY: '192.0.2.10, 10.0.0.0/8' }))).toMatch(/127\.0\.0\.1$/);
  });

  it('does not start on a bad HOST, TRUST_PROXY or timeout, naming each variable', async () => {
    const attempt = startService(definition, {
      env: {
        MONGO_URL: mongo.url,
        NATS_URL: nats.url,
        JWT_KEY,
        HOST: 'everywhere',
        TRUST_PROXY: 'true',
        HTTP_HEADERS_TIMEOUT_SECONDS: '90',
        HTTP_REQUEST_TIMEOUT_SECONDS: '60',
      },
    });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    const issues = await attempt.catch((error: ConfigError) => error.issues.map((issue) => issue.variable));
    expect(issues).toEqual(['HOST', 'TRUST_PROXY', 'HTTP_HEADERS_TIMEOUT_SECONDS']);
  });
});
