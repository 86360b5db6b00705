import { connectBus, createLogger } from '@ticketing/common';
import { type MongoHandle, type NatsServerHandle, startMongo, startNats } from '@ticketing/testing';
import { MongoClient } from 'mongodb';
import { FLOOR_STREAM, measureExpressFloor, measureJetStreamFloors, measureMongoInsertFloor } from './floors';
import type { Summary } from './stats';

function expectSane(summary: Summary, count: number): void {
  expect(summary.count).toBe(count);
  expect(summary.min).toBeGreaterThan(0);
  expect(summary.p50).toBeGreaterThanOrEqual(summary.min);
  expect(summary.p95).toBeGreaterThanOrEqual(summary.p50);
  expect(summary.p99).toBeGreaterThanOrEqual(summary.p95);
  expect(summary.max).toBeGreaterThanOrEqual(summary.p99);
  expect(Number.isFinite(summary.max)).toBe(true);
}

describe('floors against real servers', () => {
  let nats: NatsServerHandle;
  let mongo: MongoHandle;

  beforeAll(async () => {
    [nats, mongo] = await Promise.all([startNats({ own: true }), startMongo()]);
  });

  afterAll(async () => {
    await Promise.all([nats?.close(), mongo?.stop()]);
  });

  it('measures JetStream publish→ack and publish→delivery, then deletes its stream', async () => {
    const floors = await measureJetStreamFloors(nats.url, { count: 25, warmup: 5 });
    expectSane(floors.publishAck, 25);
    expectSane(floors.publishDelivery, 25);

    const bus = await connectBus({
      servers: nats.url,
      name: 'check',
      logger: createLogger({ service: 'test' }),
    });
    try {
      await expect(bus.jsm.streams.info(FLOOR_STREAM)).rejects.toThrow();
    } finally {
      await bus.close();
    }
  });

  it('measures one Mongo insertOne and drops its database', async () => {
    const dbName = `${mongo.dbName}_floor`;
    const insert = await measureMongoInsertFloor(mongo.url, { count: 25, warmup: 5, dbName });
    expectSane(insert, 25);

    const client = await MongoClient.connect(mongo.url);
    try {
      const { databases } = await client.db().admin().listDatabases();
      expect(databases.map((d) => d.name)).not.toContain(dbName);
    } finally {
      await client.close();
    }
  });

  it('measures an empty Express app under autocannon', async () => {
    const express = await measureExpressFloor({
      connections: 2,
      durationSeconds: 1,
      warmupSeconds: 0,
      where: 'inline',
    });
    expect(express.where).toBe('inline');
    expect(express.ok).toBeGreaterThan(0);
    expect(express.errors).toBe(0);
    expect(express.otherStatuses).toEqual({});
    expect(express.rate).toBeGreaterThan(0);
    expectSane(express.latency!, express.ok);
  });
});
