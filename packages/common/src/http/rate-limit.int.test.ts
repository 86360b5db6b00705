import { type MongoHandle, startMongo } from '@ticketing/testing';
import mongoose, { type Connection } from 'mongoose';
import { rateLimitHitModel, SlidingWindowLimit } from './rate-limit';

let mongo: MongoHandle;
let connection: Connection;

beforeAll(async () => {
  mongo = await startMongo();
  connection = await mongoose.createConnection(mongo.url).asPromise();
  await rateLimitHitModel(connection).init();
});

afterAll(async () => {
  await connection?.close();
  await mongo?.stop();
});

function limit(name: string, max: number, windowMs = 60_000): SlidingWindowLimit {
  return new SlidingWindowLimit(connection, { name, limit: max, windowMs, keySecret: 'test-secret' });
}

describe('SlidingWindowLimit', () => {
  it('admits no more than `limit` of 25 simultaneous attempts over two instances, and keeps only those', async () => {
    const [first, second] = [limit('race', 5), limit('race', 5)];
    const decisions = await Promise.all(
      Array.from({ length: 25 }, (_, i) => (i % 2 ? first : second).attempt(['k'])),
    );
    const admitted = decisions.filter((decision) => decision.admitted).length;
    expect(admitted).toBeLessThanOrEqual(5);
    // Refused attempts withdrew their records: the log holds the admitted ones only.
    expect(await rateLimitHitModel(connection).countDocuments({ key: first.keyOf(['k']) })).toBe(admitted);
    // What is left of the budget, and not one attempt more.
    for (let i = admitted; i < 5; i++) expect((await first.attempt(['k'])).admitted).toBe(true);
    expect((await second.attempt(['k'])).admitted).toBe(false);
  });

  it('refuses until the oldest attempt leaves the window, and says when that is', async () => {
    const windowMs = 3000;
    const limited = limit('window', 2, windowMs);
    const t0 = Date.now();
    expect((await limited.attempt(['k'])).admitted).toBe(true);
    expect((await limited.attempt(['k'])).admitted).toBe(true);
    const refused = await limited.attempt(['k']);
    if (refused.admitted) throw new Error('expected a refusal');
    expect(refused.retryAfterMs).toBeLessThanOrEqual(windowMs);
    expect(Date.now() + refused.retryAfterMs).toBeGreaterThanOrEqual(t0 + windowMs);
    expect((await limited.attempt(['other'])).admitted).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 50));
    expect((await limited.attempt(['k'])).admitted).toBe(true);
  });

  it('takes an attempt back on release', async () => {
    const limited = limit('release', 1);
    const first = await limited.attempt(['k']);
    if (!first.admitted) throw new Error('expected an admission');
    expect((await limited.attempt(['k'])).admitted).toBe(false);
    await first.release();
    expect((await limited.attempt(['k'])).admitted).toBe(true);
  });

  it('stores keyed hashes only: one per key, under the secret, nothing readable', async () => {
    const email = 'someone@example.com';
    const limited = limit('private', 10);
    await limited.attempt([email, '198.51.100.7']);
    const stored = await rateLimitHitModel(connection)
      .find({ key: limited.keyOf([email, '198.51.100.7']) })
      .lean();
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toMatch(/someone|example|198\.51/);
    expect(stored[0]!.key).toMatch(/^private:[A-Za-z0-9_-]{43}$/);
    const otherSecret = new SlidingWindowLimit(connection, {
      name: 'private',
      limit: 10,
      windowMs: 60_000,
      keySecret: 'another-secret',
    });
    expect(otherSecret.keyOf([email])).not.toBe(limited.keyOf([email]));
  });
});
