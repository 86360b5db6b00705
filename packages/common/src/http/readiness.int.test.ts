import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  startMongo,
  startNats,
} from '@ticketing/testing';
import mongoose from 'mongoose';
import request from 'supertest';
import { mongoReadiness, natsReadiness, runReadiness } from './readiness';
import { testApp } from './test-support/app';

// Real servers: Mongo at MONGO_URL (FerretDB on these machines) and a private nats-server we can stop and restart.
let mongo: MongoHandle;
let connection: mongoose.Connection;
let nats: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  mongo = await startMongo();
  connection = await mongoose.createConnection(mongo.url).asPromise();
  nats = await startNats({ own: true });
  // Keep reconnecting for the whole test: the point is to see the check recover after restart().
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
});

afterAll(async () => {
  await nc?.close();
  await nats?.close();
  await connection?.close();
  await mongo?.stop();
});

describe('readiness against real Mongo and NATS', () => {
  const app = () =>
    testApp(() => undefined, {
      readiness: { mongo: mongoReadiness(connection), nats: natsReadiness(nc) },
    });

  it('is ready when both are up', async () => {
    const res = await request(app()).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { mongo: 'ok', nats: 'ok' } });
  });

  it('answers 503 naming nats while the server is down, and 200 again after restart', async () => {
    await nats.stop();
    try {
      const started = Date.now();
      const res = await request(app()).get('/readyz');
      expect(Date.now() - started).toBeLessThan(10_000); // the probe answers, it does not hang
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('not ready');
      expect(res.body.checks.mongo).toBe('ok');
      expect(res.body.checks.nats).not.toBe('ok');
      // The NATS check's own bound answered, not the probe's overall one.
      expect(res.body.checks.nats).not.toMatch(/^timed out after/);
    } finally {
      await nats.restart();
    }
    await eventually(
      async () => {
        const res = await request(app()).get('/readyz');
        expect(res.status).toBe(200);
        expect(res.body.checks).toEqual({ mongo: 'ok', nats: 'ok' });
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
  });

  it('reports a closed NATS connection and a closed Mongo connection without waiting', async () => {
    const closedNats = await connect({ servers: nats.url });
    await closedNats.close();
    const closedMongo = await mongoose.createConnection(mongo.url).asPromise();
    await closedMongo.close();
    const report = await runReadiness(
      { nats: natsReadiness(closedNats), mongo: mongoReadiness(closedMongo) },
      2000,
    );
    expect(report).toEqual({
      ready: false,
      checks: { nats: 'nats connection closed', mongo: 'mongo not connected' },
    });
  });
});

describe('errorHandler with a real duplicate key error', () => {
  it('answers 409 when a unique index rejects a write', async () => {
    const Users = connection.model(
      'ReadinessDuplicateUser',
      new mongoose.Schema({ email: { type: String, required: true, unique: true } }),
    );
    await Users.init();
    await Users.create({ email: 'taken@example.com' });
    const app = testApp((a) => {
      a.post('/users', async (req, res) => {
        const created = await Users.create({ email: req.body.email });
        res.status(201).json({ id: created.id });
      });
    });
    const res = await request(app).post('/users').send({ email: 'taken@example.com' });
    expect(res.status).toBe(409);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].message).toMatch(/already exists/i);
  });
});
