import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigError, parseConfig } from '@ticketing/common';
import request from 'supertest';
import { createClientApp, MissingBuildError } from './app';
import { clientConfigSchema } from './config';
import { IndexPageError, renderIndexPage } from './index-page';

const built = `<!doctype html><html><head>
<script type="application/json" id="shop-config">{"stripePublishableKey":null,"testCards":["tok_visa"]}</script>
<script type="module" src="/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'client-public-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), built);
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log("shop")');
  writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sandboxCards = { TEST_CARD_TOKENS: ['tok_visa', 'tok_chargeDeclined'] };
const app = () => createClientApp({ config: sandboxCards, publicDir: dir });
const pageConfig = (html: string) =>
  JSON.parse(/id="shop-config">([^<]*)</.exec(html)![1]!) as {
    stripePublishableKey: string | null;
    testCards: string[];
  };

describe('the shop server', () => {
  it('answers every page path with the app, its config and security headers, never cached', async () => {
    for (const path of ['/', '/tickets/abc', '/orders/0123456789abcdef01234567', '/signin?next=%2Forders']) {
      const res = await request(app()).get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("script-src 'self';");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(pageConfig(res.text)).toEqual({
        stripePublishableKey: null,
        testCards: ['tok_visa', 'tok_chargeDeclined'],
      });
    }
  });

  it('serves hashed assets for a year and answers 404 for missing files', async () => {
    const asset = await request(app()).get('/assets/index-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await request(app()).get('/favicon.svg')).status).toBe(200);
    const missing = await request(app()).get('/assets/index-gone.js');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ errors: [{ message: 'Not found' }] });
    expect((await request(app()).get('/robots.txt')).status).toBe(404);
  });

  it('leaves /api to the services and refuses writes', async () => {
    const api = await request(app()).get('/api/tickets');
    expect(api.status).toBe(404);
    expect(api.body.errors[0].message).toBe('Route not found');
    expect((await request(app()).post('/').send({})).status).toBe(405);
  });

  it('answers health and readiness', async () => {
    expect((await request(app()).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(app()).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
  });

  it('with a Stripe key: no test cards, and Stripe allowed by the CSP', async () => {
    const res = await request(
      createClientApp({
        config: { ...sandboxCards, STRIPE_PUBLISHABLE_KEY: 'pk_test_abc123' },
        publicDir: dir,
      }),
    ).get('/');
    expect(pageConfig(res.text)).toEqual({ stripePublishableKey: 'pk_test_abc123', testCards: [] });
    expect(res.headers['content-security-policy']).toContain("script-src 'self' https://js.stripe.com;");
  });

  it('refuses to start without a build, saying how to make one', () => {
    expect(() => createClientApp({ config: sandboxCards, publicDir: join(dir, 'nowhere') })).toThrow(
      MissingBuildError,
    );
    expect(() => createClientApp({ config: sandboxCards, publicDir: join(dir, 'nowhere') })).toThrow(
      /npm run build/,
    );
  });
});

describe('renderIndexPage', () => {
  it('escapes < so no value can end the script element', () => {
    const html = renderIndexPage(built, { TEST_CARD_TOKENS: ['tok_</script><script>alert(1)'] });
    expect(html).not.toContain('</script><script>alert');
    expect(pageConfig(html).testCards).toEqual(['tok_</script><script>alert(1)']);
  });

  it('fails on a page without the config element', () => {
    expect(() => renderIndexPage('<html></html>', sandboxCards)).toThrow(IndexPageError);
  });
});

describe('config', () => {
  const issuesOf = (env: Record<string, string>) => {
    try {
      parseConfig(clientConfigSchema, env);
    } catch (error) {
      return (error as ConfigError).issues.map((issue) => issue.variable);
    }
    return [];
  };

  it('defaults to port 3000 and tok_visa, and splits the test cards', () => {
    expect(parseConfig(clientConfigSchema, {})).toMatchObject({ PORT: 3000, TEST_CARD_TOKENS: ['tok_visa'] });
    expect(
      parseConfig(clientConfigSchema, { TEST_CARD_TOKENS: 'tok_visa, tok_chargeDeclined' }).TEST_CARD_TOKENS,
    ).toEqual(['tok_visa', 'tok_chargeDeclined']);
  });

  it('names each bad variable', () => {
    expect(
      issuesOf({ PORT: 'eighty', STRIPE_PUBLISHABLE_KEY: 'sk_live_secret', TEST_CARD_TOKENS: '4242' }),
    ).toEqual(['PORT', 'STRIPE_PUBLISHABLE_KEY', 'TEST_CARD_TOKENS.0']);
  });
});
