import { errorBodySchema, jsonSchema, type RunningService, startService } from '@ticketing/common';
import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  operationSummary,
  readStream,
  responseSchema,
  servedOpenApiPaths,
  signTestUser,
  startMongo,
  startNats,
} from '@ticketing/testing';
import jwt from 'jsonwebtoken';
import request, { type Response } from 'supertest';
import { authService } from './app';
import type { AuthConfig } from './config';
import { userModel } from './models/user';

const JWT_KEY = 'test-jwt-key';
let nats: NatsServerHandle;
let mongo: MongoHandle;
let running: RunningService<AuthConfig>;
let emailCounter = 0;

function env(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    MONGO_URL: mongo.url,
    NATS_URL: nats.url,
    JWT_KEY,
    COOKIE_SECURE: 'false',
    LOG_LEVEL: 'silent',
    // Every answer of these tests is checked against the OpenAPI document: a mismatch is a 500.
    API_VALIDATE_RESPONSES: 'true',
    JWT_TTL: '3600',
    // High enough that only the rate-limit tests, on their own instances and IPs, ever reach a limit.
    AUTH_RATE_LIMIT_PER_IP: '100000',
    AUTH_RATE_LIMIT_FAILED_SIGNINS_PER_EMAIL_AND_IP: '1000',
    ...overrides,
  };
}

/** A fresh email, so tests do not depend on each other. */
function freshEmail(): string {
  emailCounter += 1;
  return `user${emailCounter}-${Date.now()}@example.com`;
}

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  running = await startService(authService, { env: env(), listen: false });
});

afterAll(async () => {
  await running?.stop();
  await mongo?.stop();
  await nats?.close();
});

function api() {
  return request(running.app);
}

function signup(email: string, password = 'correct horse') {
  return api().post('/api/users/signup').send({ email, password });
}

function signin(email: string, password = 'correct horse') {
  return api().post('/api/users/signin').send({ email, password });
}

/** The `session` Set-Cookie line of a response. */
function sessionSetCookie(res: Response): string {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  const line = header?.find((c) => c.startsWith('session='));
  if (!line) throw new Error(`no session cookie in ${JSON.stringify(header)}`);
  return line;
}

/** The `Cookie` request header that sends back the session cookie of a response. */
function cookieOf(res: Response): string {
  return sessionSetCookie(res).split(';')[0]!;
}

/** The JWT inside the session cookie of a response. */
function jwtOfCookie(res: Response): string {
  const value = cookieOf(res).slice('session='.length);
  return (JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as { jwt: string }).jwt;
}

function expectFieldError(res: Response, field: string): void {
  expect(res.status).toBe(400);
  expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
}

describe('POST /api/users/signup', () => {
  it('creates the user: 201 {id, email, token}, a session cookie carrying the same JWT', async () => {
    const email = freshEmail();
    const res = await signup(email);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[a-f0-9]{24}$/),
      email,
      token: expect.any(String),
    });
    const cookie = sessionSetCookie(res);
    expect(cookie).toMatch(/httponly/i);
    expect(cookie).toMatch(/samesite=lax/i);
    expect(cookie).not.toMatch(/secure/i); // COOKIE_SECURE=false in tests
    // The cookie lives as long as the token (JWT_TTL), not beyond.
    const expires = Date.parse(/expires=([^;]+)/i.exec(cookie)?.[1] ?? '');
    expect(Math.abs(expires - (Date.now() + 3600_000))).toBeLessThan(5_000);
    expect(jwtOfCookie(res)).toBe(res.body.token);
    const claims = jwt.verify(res.body.token, JWT_KEY) as jwt.JwtPayload;
    expect(claims).toMatchObject({ id: res.body.id, email });
    expect(claims.exp! - claims.iat!).toBe(3600); // JWT_TTL
    expect(Object.keys(res.body)).not.toContain('password');
    expect(Object.keys(res.body)).not.toContain('passwordHash');
  });

  it('stores only a salted scrypt hash, never the password', async () => {
    const email = freshEmail();
    const password = 'a secret password';
    await signup(email, password).expect(201);
    await signup(freshEmail(), password).expect(201);
    const users = userModel(running.context.connection);
    const stored = await users.find({}).select('+passwordHash').lean();
    const raw = JSON.stringify(stored);
    expect(raw).not.toContain(password);
    const mine = stored.find((u) => u.email === email)!;
    expect(mine.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    const sameHash = stored.filter((u) => u.passwordHash.split('$')[5] === mine.passwordHash.split('$')[5]);
    expect(sameHash).toHaveLength(1); // the random salt makes two hashes of one password differ
  });

  it('normalises the email (trim, lower-case) so case variants are one account', async () => {
    const email = freshEmail();
    const res = await signup(`  ${email.toUpperCase()}  `);
    expect(res.status).toBe(201);
    expect(res.body.email).toBe(email);
    const again = await signup(email.replace('user', 'USER'));
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ errors: [{ message: 'Email in use', field: 'email' }] });
    await signin(` ${email.toUpperCase()}`).expect(200);
  });

  it('lets exactly one of 10 simultaneous sign-ups with one email through; the others get 409', async () => {
    const email = freshEmail();
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => signup(email, `password-${i}`)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    const users = userModel(running.context.connection);
    expect(await users.countDocuments({ email })).toBe(1);
    // The account belongs to the request that got the 201.
    const winner = responses.findIndex((r) => r.status === 201);
    await signin(email, `password-${winner}`).expect(200);
  });

  it.each([
    ['missing email', { password: 'long enough' }, 'email'],
    ['not an email', { email: 'not-an-email', password: 'long enough' }, 'email'],
    ['email too long', { email: `${'a'.repeat(250)}@x.io`, password: 'long enough' }, 'email'],
    ['email as a NoSQL operator', { email: { $gt: '' }, password: 'long enough' }, 'email'],
    ['email as a number', { email: 42, password: 'long enough' }, 'email'],
    ['missing password', { email: 'a@b.io' }, 'password'],
    ['password of 7 characters', { email: 'a@b.io', password: '1234567' }, 'password'],
    ['password of 129 characters', { email: 'a@b.io', password: 'x'.repeat(129) }, 'password'],
    ['password as a NoSQL operator', { email: 'a@b.io', password: { $ne: null } }, 'password'],
  ])('rejects %s with 400 naming the field', async (_name, body, field) => {
    const res = await api().post('/api/users/signup').send(body);
    expectFieldError(res, field);
  });

  it('accepts passwords of exactly 8 and 128 characters', async () => {
    await signup(freshEmail(), '12345678').expect(201);
    await signup(freshEmail(), 'y'.repeat(128)).expect(201);
  });

  it('answers malformed JSON with 400, a non-object body with 400, an oversized body with 413', async () => {
    const malformed = await api()
      .post('/api/users/signup')
      .set('Content-Type', 'application/json')
      .send('{"email": "a@b.io",');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0].message).toMatch(/malformed json/i);
    const array = await api()
      .post('/api/users/signup')
      .send([{ email: 'a@b.io', password: 'long enough' }]);
    expect(array.status).toBe(400);
    const huge = await api()
      .post('/api/users/signup')
      .send({ email: 'a@b.io', password: 'long enough', pad: 'x'.repeat(200_000) });
    expect(huge.status).toBe(413);
  });
});

describe('POST /api/users/signin', () => {
  const password = 'the right one';
  let email: string;
  let userId: string;

  beforeAll(async () => {
    email = freshEmail();
    userId = (await signup(email, password).expect(201)).body.id;
  });

  it('signs in: 200 {id, email, token} and a session cookie', async () => {
    const res = await signin(email, password);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: userId, email, token: expect.any(String) });
    expect(jwtOfCookie(res)).toBe(res.body.token);
    expect(jwt.verify(res.body.token, JWT_KEY)).toMatchObject({ id: userId, email });
  });

  it('gives a wrong password and an unknown email the same 400 "Invalid credentials", and no cookie', async () => {
    const wrong = await signin(email, 'not the right one');
    const unknown = await signin(freshEmail(), password);
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ errors: [{ message: 'Invalid credentials' }] });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });

  it('spends comparable time on an unknown email and on a wrong password (a dummy hash is checked)', async () => {
    const time = async (body: { email: string; password: string }) => {
      const start = process.hrtime.bigint();
      await api().post('/api/users/signin').send(body).expect(400);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      wrong.push(await time({ email, password: `wrong-${i}` }));
      unknown.push(await time({ email: freshEmail(), password: `wrong-${i}` }));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2]!;
    // Without the dummy hash an unknown email answers in ~1 ms against tens of ms for a real check.
    expect(median(unknown)).toBeGreaterThan(median(wrong) * 0.2);
    expect(median(wrong)).toBeGreaterThan(median(unknown) * 0.2);
  });

  it.each([
    ['missing email', { password: 'x' }, 'email'],
    ['email as a NoSQL operator', { email: { $gt: '' }, password: 'whatever' }, 'email'],
    ['password as a NoSQL operator', { email: 'a@b.io', password: { $gt: '' } }, 'password'],
    ['empty password', { email: 'a@b.io', password: '' }, 'password'],
    ['password of 129 characters', { email: 'a@b.io', password: 'x'.repeat(129) }, 'password'],
  ])('rejects %s with 400 naming the field', async (_name, body, field) => {
    expectFieldError(await api().post('/api/users/signin').send(body), field);
  });

  it('answers malformed JSON with 400 and an oversized body with 413', async () => {
    const malformed = await api()
      .post('/api/users/signin')
      .set('Content-Type', 'application/json')
      .send('{"email":');
    expect(malformed.status).toBe(400);
    const huge = await api()
      .post('/api/users/signin')
      .send({ email, password, pad: 'x'.repeat(200_000) });
    expect(huge.status).toBe(413);
  });
});

describe('headers of answers that carry credentials', () => {
  it('sends Cache-Control: no-store and helmet headers with every token, cookie and user', async () => {
    const email = freshEmail();
    const answers = [
      await signup(email),
      await signin(email),
      await signin(email, 'wrong password'),
      await api().post('/api/users/signout'),
      await api()
        .get('/api/users/currentuser')
        .set('Cookie', cookieOf(await signin(email))),
    ];
    expect(answers.map((res) => res.status)).toEqual([201, 200, 400, 200, 200]);
    for (const res of answers) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    }
  });

  it('issues tokens that expire after JWT_TTL, within JWT_MAX_AGE_SECONDS', async () => {
    const { body } = await signup(freshEmail()).expect(201);
    const claims = jwt.decode(body.token) as jwt.JwtPayload;
    expect(claims.exp! - claims.iat!).toBe(running.context.config.JWT_TTL);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(running.context.config.JWT_MAX_AGE_SECONDS);
  });
});

describe('GET /api/users/currentuser and POST /api/users/signout', () => {
  it('returns the user from the session cookie, and null after sign-out clears it', async () => {
    const email = freshEmail();
    const signedUp = await signup(email).expect(201);
    const cookie = cookieOf(signedUp);
    const me = await api().get('/api/users/currentuser').set('Cookie', cookie);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ currentUser: { id: signedUp.body.id, email } });

    const out = await api().post('/api/users/signout').set('Cookie', cookie);
    expect(out.status).toBe(200);
    expect(out.body).toEqual({});
    const cleared = sessionSetCookie(out);
    expect(cleared).toMatch(/^session=;/);
    expect(cleared).toMatch(/expires=Thu, 01 Jan 1970/i);
    const after = await api().get('/api/users/currentuser').set('Cookie', cleared.split(';')[0]!);
    expect(after.body).toEqual({ currentUser: null });
  });

  it('returns the user from an Authorization: Bearer token (the token of the sign-in body)', async () => {
    const email = freshEmail();
    const { body } = await signup(email).expect(201);
    const me = await api().get('/api/users/currentuser').set('Authorization', `Bearer ${body.token}`);
    expect(me.body).toEqual({ currentUser: { id: body.id, email } });
  });

  it('returns null without a token, with a forged one, an expired one, one without exp and one for a century', async () => {
    const none = await api().get('/api/users/currentuser');
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ currentUser: null });
    const forged = signTestUser({}, { jwtKey: 'not-the-service-key' });
    const expired = signTestUser({}, { expiresIn: -10 });
    const centuryLong = signTestUser({}, { expiresIn: '36500d' });
    const neverExpiring = jwt.sign({ id: '0123456789abcdef01234567', email: 'x@example.com' }, JWT_KEY);
    const credentialsOf = (token: string) => ({
      cookie: `session=${Buffer.from(JSON.stringify({ jwt: token })).toString('base64')}`,
      bearer: `Bearer ${token}`,
    });
    for (const user of [forged, expired, centuryLong, credentialsOf(neverExpiring)]) {
      const res = await api().get('/api/users/currentuser').set('Cookie', user.cookie);
      expect(res.body).toEqual({ currentUser: null });
      const bearer = await api().get('/api/users/currentuser').set('Authorization', user.bearer);
      expect(bearer.body).toEqual({ currentUser: null });
    }
  });

  it('returns null for a validly signed token whose id is not one auth could have issued', async () => {
    const alien = signTestUser({ id: 'user-42' });
    const res = await api().get('/api/users/currentuser').set('Authorization', alien.bearer);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ currentUser: null });
  });

  it('sign-out without a session still answers 200 {}', async () => {
    const res = await api().post('/api/users/signout');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
  });
});

describe('rate limits (counted in Mongo, shared by replicas)', () => {
  const limited: RunningService<AuthConfig>[] = [];
  let ipCounter = 0;

  /** A client address of the documentation range, unique per call (the app trusts its loopback proxy). */
  function freshIp(): string {
    ipCounter += 1;
    return `203.0.113.${ipCounter}`;
  }

  async function startLimited(overrides: Record<string, string> = {}): Promise<RunningService<AuthConfig>> {
    const instance = await startService(authService, {
      env: env({
        AUTH_RATE_LIMIT_PER_IP: '3',
        AUTH_RATE_LIMIT_FAILED_SIGNINS_PER_EMAIL_AND_IP: '3',
        AUTH_RATE_LIMIT_WINDOW_SECONDS: '600',
        ...overrides,
      }),
      listen: false,
    });
    limited.push(instance);
    return instance;
  }

  afterAll(async () => {
    for (const instance of limited) await instance.stop();
  });

  function expectRateLimited(res: Response, maxSeconds: number): void {
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ errors: [{ message: 'Too many requests' }] });
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
  }

  describe('per client address (sign-up and sign-in, any email)', () => {
    it('answers 429 with Retry-After once the budget is spent, counting invalid requests; other addresses go on', async () => {
      const instance = await startLimited();
      const ip = freshIp();
      const from = (path: string, body: object, clientIp = ip) =>
        request(instance.app).post(path).set('X-Forwarded-For', clientIp).send(body);
      // Invalid requests count too: the address's limit runs before validation.
      await from('/api/users/signin', { email: 'nope' }).expect(400);
      await from('/api/users/signup', { email: freshEmail(), password: 'long enough' }).expect(201);
      await from('/api/users/signin', { email: freshEmail(), password: 'long enough' }).expect(400);
      const blocked = await from('/api/users/signup', { email: freshEmail(), password: 'long enough' });
      expectRateLimited(blocked, 600);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(590);
      await from('/api/users/signin', { email: freshEmail(), password: 'x' }).expect(429);
      await from('/api/users/signup', { email: freshEmail(), password: 'long enough' }, freshIp()).expect(
        201,
      );
    });

    it('counts one budget across two replicas of the service', async () => {
      const [first, second] = [await startLimited(), await startLimited()];
      const ip = freshIp();
      const via = (instance: RunningService<AuthConfig>) =>
        request(instance.app)
          .post('/api/users/signin')
          .set('X-Forwarded-For', ip)
          .send({ email: freshEmail(), password: 'whatever' });
      await via(first).expect(400);
      await via(second).expect(400);
      await via(first).expect(400);
      await via(second).expect(429);
      await via(first).expect(429);
    });

    it('never lets more simultaneous requests through than fit, and then exactly the rest of the budget', async () => {
      const instance = await startLimited({ AUTH_RATE_LIMIT_PER_IP: '5' });
      const ip = freshIp();
      const attempt = () =>
        request(instance.app).post('/api/users/signin').set('X-Forwarded-For', ip).send({ email: 'nope' });
      const responses = await Promise.all(Array.from({ length: 12 }, attempt));
      const through = responses.filter((r) => r.status === 400).length;
      // Simultaneous requests at the limit may refuse each other; more than fit never get through.
      expect(through).toBeLessThanOrEqual(5);
      for (const refused of responses.filter((r) => r.status !== 400)) expectRateLimited(refused, 600);
      // One at a time, the rest of the budget and not one request more.
      for (let i = through; i < 5; i++) await attempt().expect(400);
      expectRateLimited(await attempt(), 600);
    });

    it('lets the client in again once its attempts leave the window', async () => {
      const instance = await startLimited({ AUTH_RATE_LIMIT_WINDOW_SECONDS: '3' });
      const ip = freshIp();
      // Invalid bodies count without costing a password hash each, so four attempts fit inside the window even
      // on a loaded machine.
      const attempt = () =>
        request(instance.app).post('/api/users/signin').set('X-Forwarded-For', ip).send({ email: 'nope' });
      for (let i = 0; i < 3; i++) await attempt().expect(400);
      const blocked = await attempt().expect(429);
      const retryAfter = Number(blocked.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(3);
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 100));
      await attempt().expect(400);
    });
  });

  describe('failed sign-ins per (email, client address)', () => {
    const password = 'the right password';

    async function account(instance: RunningService<AuthConfig>): Promise<string> {
      const email = freshEmail();
      await request(instance.app)
        .post('/api/users/signup')
        .set('X-Forwarded-For', freshIp())
        .send({ email, password })
        .expect(201);
      return email;
    }

    const signinFrom = (instance: RunningService<AuthConfig>, ip: string, email: string, secret: string) =>
      request(instance.app)
        .post('/api/users/signin')
        .set('X-Forwarded-For', ip)
        .send({ email, password: secret });

    it('blocks the guessing address, even with the right password, while the owner signs in from another', async () => {
      const instance = await startLimited({ AUTH_RATE_LIMIT_PER_IP: '1000' });
      const email = await account(instance);
      const attacker = freshIp();
      for (let i = 0; i < 3; i++) await signinFrom(instance, attacker, email, `guess-${i}`).expect(400);
      expectRateLimited(await signinFrom(instance, attacker, email, 'guess-3'), 600);
      // Brute force stays slow: the right password from the guessing address is refused too.
      expectRateLimited(await signinFrom(instance, attacker, email, password), 600);
      // No lockout by strangers: the owner, elsewhere, gets in.
      const owner = await signinFrom(instance, freshIp(), email, password);
      expect(owner.status).toBe(200);
      expect(owner.body.email).toBe(email);
      // The guessing address may still try other accounts (its own address budget aside).
      await signinFrom(instance, attacker, await account(instance), 'guess').expect(400);
    });

    it('counts failures only: right passwords take their attempt back', async () => {
      const instance = await startLimited({ AUTH_RATE_LIMIT_PER_IP: '1000' });
      const email = await account(instance);
      const ip = freshIp();
      await signinFrom(instance, ip, email, 'typo-1').expect(400);
      for (let i = 0; i < 5; i++) await signinFrom(instance, ip, email, password).expect(200);
      await signinFrom(instance, ip, email, 'typo-2').expect(400);
      await signinFrom(instance, ip, email, 'typo-3').expect(400);
      expectRateLimited(await signinFrom(instance, ip, email, 'typo-4'), 600);
    });

    it('counts an email in any case or spacing as one, and an unknown email like a known one', async () => {
      const instance = await startLimited({ AUTH_RATE_LIMIT_PER_IP: '1000' });
      const ip = freshIp();
      const unknown = freshEmail();
      await signinFrom(instance, ip, unknown, 'x').expect(400);
      await signinFrom(instance, ip, ` ${unknown.toUpperCase()} `, 'x').expect(400);
      await signinFrom(instance, ip, unknown.replace('user', 'USER'), 'x').expect(400);
      expectRateLimited(await signinFrom(instance, ip, unknown, 'x'), 600);
    });

    it('checks at most the budget of simultaneous guesses, and no more afterwards', async () => {
      const instance = await startLimited({ AUTH_RATE_LIMIT_PER_IP: '1000' });
      const email = await account(instance);
      const ip = freshIp();
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) => signinFrom(instance, ip, email, `parallel-guess-${i}`)),
      );
      const checked = responses.filter((r) => r.status === 400).length;
      expect(checked).toBeLessThanOrEqual(3);
      for (const refused of responses.filter((r) => r.status !== 400)) expectRateLimited(refused, 600);
      for (let i = checked; i < 3; i++) await signinFrom(instance, ip, email, `guess-${i}`).expect(400);
      expectRateLimited(await signinFrom(instance, ip, email, 'one-more'), 600);
    });

    it('stores no email and no address: every rate-limit key is a keyed hash', async () => {
      const instance = await startLimited({ AUTH_RATE_LIMIT_PER_IP: '1000' });
      const email = freshEmail();
      const ip = freshIp();
      await signinFrom(instance, ip, email, 'x').expect(400);
      await request(instance.app)
        .post('/api/users/signup')
        .set('X-Forwarded-For', ip)
        .send({ email: 'not-an-email', password: 'long enough' })
        .expect(400);
      const db = instance.context.connection.db!;
      const everything: unknown[] = [];
      for (const { name } of await db.listCollections().toArray()) {
        everything.push(...(await db.collection(name).find({}).toArray()));
      }
      const dump = JSON.stringify(everything).toLowerCase();
      expect(dump).toContain('signin-failures:');
      expect(dump).not.toContain(email.toLowerCase());
      expect(dump).not.toContain(email.split('@')[0]!.toLowerCase());
      expect(dump).not.toContain(ip);
    });
  });
});

describe('GET /openapi.json', () => {
  it('documents every operation: operationId, request body schema, answers and their schemas', async () => {
    expect(running.context.config.API_VALIDATE_RESPONSES).toBe(true);
    const paths = await servedOpenApiPaths(running.app, 'auth API');
    expect(operationSummary(paths)).toEqual({
      'POST /api/users/signup': {
        operationId: 'signUp',
        statuses: ['201', '400', '409', '413', '415', '429', '500'],
      },
      'POST /api/users/signin': {
        operationId: 'signIn',
        statuses: ['200', '400', '413', '415', '429', '500'],
      },
      'POST /api/users/signout': { operationId: 'signOut', statuses: ['200', '500'] },
      'GET /api/users/currentuser': { operationId: 'getCurrentUser', statuses: ['200', '500'] },
      'DELETE /api/users/me': { operationId: 'deleteAccount', statuses: ['204', '401', '500'] },
    });

    const signupOp = paths['/api/users/signup']!.post!;
    expect(signupOp.requestBody!.content['application/json'].schema).toMatchObject({
      type: 'object',
      properties: {
        email: { type: 'string', maxLength: 254 },
        password: { type: 'string', minLength: 8, maxLength: 128 },
      },
      required: ['email', 'password'],
    });
    expect(paths['/api/users/signin']!.post!.requestBody!.content['application/json'].schema).toMatchObject({
      properties: { password: { type: 'string', minLength: 1, maxLength: 128 } },
      required: ['email', 'password'],
    });
    for (const op of [paths['/api/users/signout']!.post!, paths['/api/users/currentuser']!.get!]) {
      expect(op.requestBody).toBeUndefined();
    }

    expect(responseSchema(signupOp, '201')).toMatchObject({
      type: 'object',
      properties: {
        id: { type: 'string', pattern: '^[a-f0-9]{24}$' },
        email: { type: 'string', format: 'email' },
        token: { type: 'string' },
      },
      required: ['id', 'email', 'token'],
      additionalProperties: false,
    });
    expect(responseSchema(paths['/api/users/currentuser']!.get!, '200')).toMatchObject({
      properties: { currentUser: { anyOf: [expect.objectContaining({ type: 'object' }), { type: 'null' }] } },
      required: ['currentUser'],
      additionalProperties: false,
    });
    const errorBody = jsonSchema(errorBodySchema, 'output');
    for (const status of ['400', '409', '429']) expect(responseSchema(signupOp, status)).toEqual(errorBody);
    expect(paths['/api/users/currentuser']!.get!.security).toEqual([
      {},
      { cookieAuth: [] },
      { bearerAuth: [] },
    ]);
  });
});

describe('DELETE /api/users/me', () => {
  it('deletes the account: 204, user.deleted (the id, no email) on USERS, the token stops working', async () => {
    const email = freshEmail();
    const signedUp = await signup(email);
    const cookie = cookieOf(signedUp);
    const token = signedUp.body.token as string;
    const res = await api().delete('/api/users/me').set('Cookie', cookie);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await userModel(running.context.connection).exists({ email })).toBeNull();

    const events = await eventually(async () => {
      const messages = (await readStream({ servers: nats.url, stream: 'USERS' })).filter(
        (message) => (message.data as { id?: string }).id === signedUp.body.id,
      );
      expect(messages).toHaveLength(1);
      return messages;
    });
    expect(events[0]!.subject).toBe('user.deleted');
    expect(events[0]!.data).toEqual({ id: signedUp.body.id, version: 0 });
    expect(events[0]!.raw).not.toContain(email);
    expect(JSON.stringify(events[0]!.headers)).not.toContain(email);

    for (const credentials of [{ Cookie: cookie }, { Authorization: `Bearer ${token}` }]) {
      const me = await api().get('/api/users/currentuser').set(credentials);
      expect(me.body).toEqual({ currentUser: null });
      expect((await api().delete('/api/users/me').set(credentials)).status).toBe(401);
    }
    expect((await signin(email)).status).toBe(400);
    // The email is free again: a new account, another id.
    const again = await signup(email);
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(signedUp.body.id);
  });

  it('answers 401 without a signed-in user', async () => {
    const res = await api().delete('/api/users/me');
    expect(res.status).toBe(401);
    expect(res.body.errors).toHaveLength(1);
  });
});
