import express from 'express';
import request from 'supertest';
import { currentContext } from '../context';
import { createMetricsRegistry } from '../metrics';
import { signUserToken } from './auth';
import { NotFoundError } from './errors';
import { captureLogger, sessionCookieFor, TEST_JWT_KEY, testApp } from './test-support/app';

/** The `_count` of the latency histogram for the series having all these labels (in any order), or undefined. */
function requestCount(text: string, labels: Record<string, string>): number | undefined {
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('http_request_duration_seconds_count{') &&
        Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('createHttpApp basics', () => {
  const app = testApp(() => undefined);

  it('answers /healthz and hides x-powered-by', async () => {
    const res = await request(app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('answers /readyz 200 with no checks configured', async () => {
    const res = await request(app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: {} });
  });

  it('trusts a proxy on this host by default: the address it forwards, not what the client wrote', async () => {
    const probe = testApp((a) => {
      a.get('/ip', (req, res) => {
        res.json({ ip: req.ip, protocol: req.protocol });
      });
    });
    const res = await request(probe)
      .get('/ip')
      .set('X-Forwarded-For', '203.0.113.9, 198.51.100.4')
      .set('X-Forwarded-Proto', 'https');
    expect(res.body).toEqual({ ip: '198.51.100.4', protocol: 'https' });
  });
});

describe('security headers', () => {
  const app = testApp((a) => {
    a.get('/cacheable', (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=60');
      res.json({ ok: true });
    });
    a.get('/boom', () => {
      throw new Error('boom');
    });
  });

  it('sends helmet headers for a JSON API and no-store on every answer, errors included', async () => {
    for (const [path, status] of [
      ['/healthz', 200],
      ['/nowhere', 404],
      ['/boom', 500],
    ] as const) {
      const res = await request(app).get(path);
      expect(res.status).toBe(status);
      expect(res.headers).toMatchObject({
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'cross-origin-resource-policy': 'same-origin',
      });
    }
  });

  it('lets a route choose its own caching', async () => {
    const res = await request(app).get('/cacheable');
    expect(res.headers['cache-control']).toBe('public, max-age=60');
  });
});

describe('request id and correlation context', () => {
  const app = testApp((a) => {
    a.get('/ctx', async (_req, res) => {
      const before = currentContext()?.correlationId;
      await new Promise((resolve) => setTimeout(resolve, 5));
      res.json({ before, after: currentContext()?.correlationId });
    });
    a.post('/ctx', (req, res) => {
      // Reading the body is asynchronous: the context must survive body-parser.
      res.json({ id: currentContext()?.correlationId, body: req.body });
    });
  });

  it('echoes a sane X-Request-Id and uses it as the correlation id', async () => {
    const id = 'gw-7f3a.12:abc_DEF';
    const res = await request(app).get('/ctx').set('X-Request-Id', id);
    expect(res.headers['x-request-id']).toBe(id);
    expect(res.body).toEqual({ before: id, after: id });
  });

  it('generates a UUID when the header is absent', async () => {
    const res = await request(app).get('/ctx');
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(res.body.before).toBe(res.headers['x-request-id']);
  });

  it('replaces a malicious or oversized request id', async () => {
    for (const bad of [
      '<script>alert(1)</script>',
      'a b',
      'x'.repeat(129),
      '../../etc/passwd',
      '"}{"level":60',
    ]) {
      const res = await request(app).get('/ctx').set('X-Request-Id', bad);
      expect(res.headers['x-request-id']).toMatch(UUID);
      expect(res.body.before).toBe(res.headers['x-request-id']);
    }
    const longest = 'y'.repeat(128);
    const ok = await request(app).get('/ctx').set('X-Request-Id', longest);
    expect(ok.headers['x-request-id']).toBe(longest);
  });

  it('keeps the context after the JSON body is read', async () => {
    const res = await request(app).post('/ctx').set('X-Request-Id', 'post-1').send({ a: 1 });
    expect(res.body).toEqual({ id: 'post-1', body: { a: 1 } });
  });

  it('echoes the id on error responses too', async () => {
    const res = await request(app).get('/missing').set('X-Request-Id', 'err-1');
    expect(res.status).toBe(404);
    expect(res.headers['x-request-id']).toBe('err-1');
  });
});

describe('request logging', () => {
  it('logs each request with its request id, without cookies or authorization', async () => {
    const { logger, lines } = captureLogger();
    const app = testApp(
      (a) => {
        a.get('/hello', (req, res) => {
          req.log.info('inside the route');
          res.json({ ok: true });
        });
      },
      { logger },
    );
    const token = signUserToken({ id: 'u1', email: 'a@b.co' }, TEST_JWT_KEY, 60);
    await request(app)
      .get('/hello')
      .set('X-Request-Id', 'log-1')
      .set('Cookie', sessionCookieFor(token))
      .set('Authorization', `Bearer ${token}`);
    await request(app).get('/healthz');

    const logged = lines();
    const inside = logged.find((line) => line.msg === 'inside the route');
    expect(inside).toMatchObject({ requestId: 'log-1', service: 'test' });
    const completed = logged.find((line) => line.msg === 'request completed');
    expect(completed).toMatchObject({
      req: { id: 'log-1', method: 'GET', url: '/hello' },
      res: { statusCode: 200 },
    });
    const all = JSON.stringify(logged);
    expect(all).not.toContain(token);
    expect(all).not.toContain('"cookie"');
    expect(all).not.toContain('"authorization"');
    // Probes are not logged.
    expect(all).not.toContain('/healthz');
  });
});

describe('HTTP latency metrics', () => {
  it('labels by route pattern, never the raw URL, and exposes them at /metrics', async () => {
    const metrics = createMetricsRegistry('tickets');
    const app = testApp(
      (a) => {
        a.get('/x/:id', (req, res) => {
          res.json({ id: req.params.id });
        });
        const router = express.Router();
        router.get('/:id', (req) => {
          throw new NotFoundError(`no ticket ${req.params.id}`);
        });
        a.use('/api/tickets', router);
      },
      { metrics, service: 'tickets' },
    );
    await request(app).get('/x/123456789').expect(200);
    await request(app).get('/x/987654321').expect(200);
    await request(app).get('/api/tickets/abcdefabcdef').expect(404);
    await request(app).get('/nowhere/5555555').expect(404);

    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect(requestCount(text, { method: 'GET', route: '/x/:id', status: '200', service: 'tickets' })).toBe(2);
    expect(requestCount(text, { route: '/api/tickets/:id', status: '404', service: 'tickets' })).toBe(1);
    expect(requestCount(text, { route: 'unmatched', status: '404', service: 'tickets' })).toBe(1);
    for (const raw of ['123456789', '987654321', 'abcdefabcdef', '5555555']) {
      expect(text).not.toContain(raw);
    }
    // Default process metrics carry the service label too.
    expect(text).toMatch(/process_cpu_user_seconds_total\{service="tickets"\}/);
  });

  it('lets two apps share one registry', async () => {
    const metrics = createMetricsRegistry('shared');
    const first = testApp(() => undefined, { metrics });
    const second = testApp(() => undefined, { metrics });
    await request(first).get('/healthz').expect(200);
    await request(second).get('/healthz').expect(200);
    const text = await metrics.metrics();
    expect(requestCount(text, { route: '/healthz', status: '200' })).toBe(2);
  });
});

describe('/readyz', () => {
  it('answers 200 when every check passes', async () => {
    const app = testApp(() => undefined, {
      readiness: { a: async () => undefined, b: async () => undefined },
    });
    const res = await request(app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { a: 'ok', b: 'ok' } });
  });

  it('answers 503 naming the failing and the hung check', async () => {
    const app = testApp(() => undefined, {
      readinessTimeoutMs: 100,
      readiness: {
        good: async () => undefined,
        broken: async () => {
          throw new Error('connection refused');
        },
        hung: () => new Promise<void>(() => undefined),
      },
    });
    const started = Date.now();
    const res = await request(app).get('/readyz');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'not ready',
      checks: { good: 'ok', broken: 'connection refused', hung: 'timed out after 100ms' },
    });
  });
});
