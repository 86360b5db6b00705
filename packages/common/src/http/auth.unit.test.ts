import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { requireAuth, signUserToken, verifyUserToken } from './auth';
import { sessionCookieFor, TEST_JWT_KEY, testApp } from './test-support/app';

const user = { id: '0123456789abcdef01234567', email: 'buyer@example.com' };

function buildApp(cookieSecure = false) {
  return testApp(
    (app) => {
      app.get('/api/users/currentuser', (req, res) => {
        res.json({ currentUser: req.currentUser ?? null });
      });
      app.get('/api/private', requireAuth, (req, res) => {
        res.json({ id: req.currentUser?.id });
      });
      app.post('/api/users/signin', (req, res) => {
        req.session = { jwt: signUserToken(user, TEST_JWT_KEY, '15m') };
        res.json(user);
      });
      app.post('/api/users/signout', (req, res) => {
        req.session = null;
        res.json({});
      });
    },
    { cookieSecure },
  );
}

describe('signUserToken / verifyUserToken', () => {
  it('round-trips {id, email} and nothing else', () => {
    const token = signUserToken({ ...user, extra: 'dropped' } as typeof user, TEST_JWT_KEY, 60);
    expect(verifyUserToken(token, TEST_JWT_KEY)).toEqual(user);
    expect(jwt.decode(token)).toEqual({ ...user, iat: expect.any(Number), exp: expect.any(Number) });
  });

  it('returns null, never throws, for expired, foreign, garbage or wrongly shaped tokens', () => {
    const expired = jwt.sign({ ...user, exp: Math.floor(Date.now() / 1000) - 10 }, TEST_JWT_KEY);
    const wrongKey = signUserToken(user, 'another-key-entirely', 60);
    const wrongShape = jwt.sign({ sub: 'x', mail: 'y' }, TEST_JWT_KEY);
    const emptyId = jwt.sign({ id: '', email: 'a@b.c' }, TEST_JWT_KEY);
    const unsigned = jwt.sign(user, '', { algorithm: 'none' });
    const otherAlgorithm = jwt.sign(user, TEST_JWT_KEY, { algorithm: 'HS512' });
    for (const token of [
      expired,
      wrongKey,
      wrongShape,
      emptyId,
      unsigned,
      otherAlgorithm,
      'garbage',
      '',
      'a.b.c',
    ]) {
      expect(verifyUserToken(token, TEST_JWT_KEY)).toBeNull();
    }
  });
});

/** An HS256 JWT of any payload, signed with the test key without jsonwebtoken's own checks. */
function signedByHand(payload: Record<string, unknown>): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(payload)}`;
  return `${unsigned}.${createHmac('sha256', TEST_JWT_KEY).update(unsigned).digest('base64url')}`;
}

describe('token lifetime', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('refuses a token without exp or iat, whatever else is right about it', () => {
    expect(verifyUserToken(jwt.sign(user, TEST_JWT_KEY), TEST_JWT_KEY)).toBeNull();
    expect(verifyUserToken(signedByHand({ ...user, iat: now() }), TEST_JWT_KEY)).toBeNull();
    expect(verifyUserToken(signedByHand({ ...user, iat: now(), exp: now() + 60 }), TEST_JWT_KEY)).toEqual(
      user,
    );
    const noIat = jwt.sign({ ...user, exp: now() + 60 }, TEST_JWT_KEY, { noTimestamp: true });
    expect(verifyUserToken(noIat, TEST_JWT_KEY)).toBeNull();
    // jsonwebtoken will not sign a text exp: signed by hand, as a foreign signer could.
    const textExp = signedByHand({ ...user, iat: now(), exp: `${now() + 60}` });
    expect(verifyUserToken(textExp, TEST_JWT_KEY)).toBeNull();
  });

  it('caps exp - iat at one day by default and at maxAgeSeconds when given', () => {
    const lasting = (seconds: number) => signUserToken(user, TEST_JWT_KEY, seconds);
    expect(verifyUserToken(lasting(86_400), TEST_JWT_KEY)).toEqual(user);
    expect(verifyUserToken(lasting(86_401), TEST_JWT_KEY)).toBeNull();
    expect(verifyUserToken(lasting(100 * 365 * 86_400), TEST_JWT_KEY)).toBeNull();
    expect(verifyUserToken(lasting(300), TEST_JWT_KEY, { maxAgeSeconds: 300 })).toEqual(user);
    expect(verifyUserToken(lasting(301), TEST_JWT_KEY, { maxAgeSeconds: 300 })).toBeNull();
  });

  it('refuses a token issued in the future, which would stretch the cap', () => {
    const ahead = jwt.sign({ ...user, iat: now() + 3600, exp: now() + 3600 + 600 }, TEST_JWT_KEY);
    expect(verifyUserToken(ahead, TEST_JWT_KEY)).toBeNull();
    // A little clock skew between services is tolerated.
    const skewed = jwt.sign({ ...user, iat: now() + 5, exp: now() + 600 }, TEST_JWT_KEY);
    expect(verifyUserToken(skewed, TEST_JWT_KEY)).toEqual(user);
  });

  it('applies the cap of createHttpApp to the cookie and the Bearer token alike', async () => {
    const app = testApp(
      (a) => {
        a.get('/api/private', requireAuth, (req, res) => {
          res.json({ id: req.currentUser?.id });
        });
      },
      { jwtMaxAgeSeconds: 120 },
    );
    for (const [seconds, status] of [
      [120, 200],
      [121, 401],
    ] as const) {
      const token = signUserToken(user, TEST_JWT_KEY, seconds);
      await request(app).get('/api/private').set('Cookie', sessionCookieFor(token)).expect(status);
      await request(app).get('/api/private').set('Authorization', `Bearer ${token}`).expect(status);
    }
  });
});

describe('currentUser and requireAuth', () => {
  const app = buildApp();

  it('signs in through the session cookie', async () => {
    const cookie = sessionCookieFor(signUserToken(user, TEST_JWT_KEY, 60));
    const me = await request(app).get('/api/users/currentuser').set('Cookie', cookie);
    expect(me.body).toEqual({ currentUser: user });
    const priv = await request(app).get('/api/private').set('Cookie', cookie);
    expect(priv.status).toBe(200);
    expect(priv.body).toEqual({ id: user.id });
  });

  it('signs in through Authorization: Bearer', async () => {
    const token = signUserToken(user, TEST_JWT_KEY, 60);
    const me = await request(app).get('/api/users/currentuser').set('Authorization', `Bearer ${token}`);
    expect(me.body).toEqual({ currentUser: user });
    const priv = await request(app).get('/api/private').set('Authorization', `bearer ${token}`);
    expect(priv.status).toBe(200);
  });

  it('falls back to the bearer token when the cookie holds an invalid one', async () => {
    const res = await request(app)
      .get('/api/users/currentuser')
      .set('Cookie', sessionCookieFor('stale'))
      .set('Authorization', `Bearer ${signUserToken(user, TEST_JWT_KEY, 60)}`);
    expect(res.body).toEqual({ currentUser: user });
  });

  it('treats expired, foreign-key and garbage credentials as not signed in (401, never 500)', async () => {
    const expired = jwt.sign({ ...user, exp: Math.floor(Date.now() / 1000) - 10 }, TEST_JWT_KEY);
    const wrongKey = signUserToken(user, 'another-key-entirely', 60);
    const cookies = [
      sessionCookieFor(expired),
      sessionCookieFor(wrongKey),
      sessionCookieFor({ id: user.id }),
      sessionCookieFor(null),
      'session=%%%not-base64%%%',
      `session=${Buffer.from('{"jwt":').toString('base64')}`,
      `session=${Buffer.from('[1,2]').toString('base64')}`,
      `session=${Buffer.from('null').toString('base64')}`,
    ];
    for (const cookie of cookies) {
      const me = await request(app).get('/api/users/currentuser').set('Cookie', cookie);
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ currentUser: null });
      const priv = await request(app).get('/api/private').set('Cookie', cookie);
      expect(priv.status).toBe(401);
      expect(priv.body).toEqual({ errors: [{ message: 'Not authorized' }] });
    }
    for (const header of [
      `Bearer ${expired}`,
      `Bearer ${wrongKey}`,
      'Bearer',
      'Basic dXNlcjpwYXNz',
      'garbage',
    ]) {
      const priv = await request(app).get('/api/private').set('Authorization', header);
      expect(priv.status).toBe(401);
    }
  });

  it('answers currentuser with null and private routes with 401 when no credentials come', async () => {
    const me = await request(app).get('/api/users/currentuser');
    expect(me.body).toEqual({ currentUser: null });
    expect(me.headers['set-cookie']).toBeUndefined();
    const priv = await request(app).get('/api/private');
    expect(priv.status).toBe(401);
  });
});

describe('sessionCookie', () => {
  it('sets an httpOnly, sameSite=lax cookie named session holding base64 JSON {jwt}, and clears it', async () => {
    const res = await request(buildApp()).post('/api/users/signin');
    const setCookie = res.headers['set-cookie'] as unknown as string[];
    expect(setCookie).toHaveLength(1);
    const cookie = setCookie[0] ?? '';
    expect(cookie).toMatch(/^session=[A-Za-z0-9+/=]+; path=\/; samesite=lax; httponly$/);
    const value = cookie.slice('session='.length, cookie.indexOf(';'));
    const content = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
    expect(verifyUserToken(content.jwt, TEST_JWT_KEY)).toEqual(user);

    const out = await request(buildApp()).post('/api/users/signout').set('Cookie', `session=${value}`);
    expect(out.headers['set-cookie']?.[0]).toMatch(/^session=; path=\/; expires=Thu, 01 Jan 1970/);
  });

  it('with secure on, sends the cookie only over https as reported by the one trusted proxy hop', async () => {
    const app = buildApp(true);
    const plain = await request(app).post('/api/users/signin');
    expect(plain.headers['set-cookie']).toBeUndefined();

    const proxied = await request(app).post('/api/users/signin').set('X-Forwarded-Proto', 'https');
    expect(proxied.headers['set-cookie']?.[0]).toMatch(/; secure; httponly$/);
  });
});
