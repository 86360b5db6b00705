import { type MongoHandle, startMongo } from '@ticketing/testing';
import type { Options } from 'express-rate-limit';
import mongoose, { type Connection } from 'mongoose';
import { MongoRateLimitStore, rateLimitHitModel } from './mongo-store';

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

function store(prefix: string, limit: number, windowMs = 60_000): MongoRateLimitStore {
  const limited = new MongoRateLimitStore(rateLimitHitModel(connection), prefix);
  limited.init({ windowMs, limit } as Options);
  return limited;
}

describe('MongoRateLimitStore', () => {
  it('admits exactly `limit` of 25 simultaneous requests, over two stores sharing the collection', async () => {
    const [first, second] = [store('p:', 5), store('p:', 5)];
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) => (i % 2 ? first : second).increment('k')),
    );
    expect(answers.filter((answer) => answer.totalHits <= 5)).toHaveLength(5);
    // Refused requests log nothing: the log holds the admitted hits only.
    expect(await rateLimitHitModel(connection).countDocuments({ key: 'p:k' })).toBe(5);
  });

  it('refuses until the oldest hit leaves the window, and says when that is', async () => {
    // A window long enough that three hits surely land in it on a loaded machine.
    const windowMs = 5000;
    const limited = store('w:', 2, windowMs);
    const t0 = Date.now();
    expect((await limited.increment('k')).totalHits).toBe(1);
    expect((await limited.increment('k')).totalHits).toBe(2);
    const refused = await limited.increment('k');
    expect(refused.totalHits).toBe(3);
    expect(refused.resetTime!.getTime()).toBeGreaterThanOrEqual(t0 + windowMs);
    expect(refused.resetTime!.getTime()).toBeLessThanOrEqual(Date.now() + windowMs);
    await new Promise((resolve) => setTimeout(resolve, refused.resetTime!.getTime() - Date.now() + 20));
    expect((await limited.increment('k')).totalHits).toBeLessThanOrEqual(2);
    expect((await limited.increment('other')).totalHits).toBe(1);
  });
});
