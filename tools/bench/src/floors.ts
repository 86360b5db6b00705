import { randomBytes, randomUUID } from 'node:crypto';
import { type Bus, connectBus, createLogger } from '@ticketing/common';
import { mongoUrlWithDatabase } from '@ticketing/testing';
import { MongoClient } from 'mongodb';
import { MeasurementError } from './errors';
import { startEmptyServer } from './floor-server';
import { type HttpFigures, runLoad } from './http-load';
import { type Summary, summarize } from './stats';

/** The stream of the JetStream floors (file storage, like the services' streams); deleted afterwards. */
export const FLOOR_STREAM = 'BENCH_FLOOR';
/** Its subject. */
export const FLOOR_SUBJECT = 'bench.floor';
/** The durable pull consumer of the delivery floor. */
export const FLOOR_CONSUMER = 'bench-floor';

/** How many samples a floor takes. */
export interface FloorOptions {
  /** Measured samples. */
  count: number;
  /** Samples taken first and thrown away (connections, files, JIT); default min(20, count). */
  warmup?: number;
}

/** The two JetStream floors, in ms. */
export interface JetStreamFloors {
  /** `js.publish` → its ack (the message is stored), one at a time. */
  publishAck: Summary;
  /** Start of `js.publish` → the message handed to a durable pull consumer (explicit ack), one at a time. */
  publishDelivery: Summary;
}

// An event-sized body: what the services publish is a small JSON object.
function floorPayload(index: number): string {
  return JSON.stringify({
    id: randomBytes(12).toString('hex'),
    index,
    title: 'Bench floor',
    price: 25,
    userId: randomBytes(12).toString('hex'),
    version: 0,
  });
}

function need(summary: Summary | null, what: string): Summary {
  if (!summary) throw new MeasurementError(what, 'no samples');
  return summary;
}

async function deleteStreamIfAny(bus: Bus): Promise<void> {
  try {
    await bus.jsm.streams.delete(FLOOR_STREAM);
  } catch {
    // Not there: nothing to delete.
  }
}

/**
 * The JetStream floors on the NATS server at `natsUrl`: sequential publishes to a fresh {@link FLOOR_STREAM}
 * (file storage, duplicate window, each message with a `Nats-Msg-Id` as the services send), first timed to
 * their ack, then to their delivery to a durable pull consumer. The stream is deleted afterwards.
 */
export async function measureJetStreamFloors(
  natsUrl: string,
  options: FloorOptions,
): Promise<JetStreamFloors> {
  const warmup = options.warmup ?? Math.min(20, options.count);
  const bus = await connectBus({
    servers: natsUrl,
    name: 'bench-floor',
    logger: createLogger({ service: 'bench', level: 'error' }),
  });
  try {
    await deleteStreamIfAny(bus);
    await bus.jsm.streams.add({
      name: FLOOR_STREAM,
      subjects: [FLOOR_SUBJECT],
      storage: 'file',
      duplicate_window: 120_000_000_000,
    });

    const acks: number[] = [];
    for (let i = 0; i < warmup + options.count; i++) {
      const payload = floorPayload(i);
      const started = performance.now();
      await bus.js.publish(FLOOR_SUBJECT, payload, { msgID: randomUUID() });
      if (i >= warmup) acks.push(performance.now() - started);
    }

    await bus.jsm.consumers.add(FLOOR_STREAM, {
      durable_name: FLOOR_CONSUMER,
      ack_policy: 'explicit',
      deliver_policy: 'new',
      filter_subject: FLOOR_SUBJECT,
    });
    const consumer = await bus.js.consumers.get(FLOOR_STREAM, FLOOR_CONSUMER);
    const messages = await consumer.consume({ max_messages: 64 });
    let expected = '';
    let delivered: ((at: number) => void) | undefined;
    const loop = (async () => {
      for await (const message of messages) {
        const at = performance.now();
        message.ack();
        if (message.string() === expected) delivered?.(at);
      }
    })();

    const deliveries: number[] = [];
    try {
      for (let i = 0; i < warmup + options.count; i++) {
        const payload = floorPayload(i);
        expected = payload;
        let timer: NodeJS.Timeout | undefined;
        const arrival = new Promise<number>((resolve, reject) => {
          delivered = resolve;
          timer = setTimeout(
            () => reject(new MeasurementError('publish→delivery', `message ${i} not delivered within 10 s`)),
            10_000,
          );
        });
        const started = performance.now();
        try {
          const [deliveredAt] = await Promise.all([
            arrival,
            bus.js.publish(FLOOR_SUBJECT, payload, { msgID: randomUUID() }),
          ]);
          if (i >= warmup) deliveries.push(deliveredAt - started);
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      await messages.close();
      await loop;
    }
    return {
      publishAck: need(summarize(acks), 'publish→ack'),
      publishDelivery: need(summarize(deliveries), 'publish→delivery'),
    };
  } finally {
    await deleteStreamIfAny(bus);
    await bus.close();
  }
}

/** Options of {@link measureMongoInsertFloor}. */
export interface MongoFloorOptions extends FloorOptions {
  /** Database to insert into, dropped afterwards (default `bench-floor-<random>`). */
  dbName?: string;
}

/**
 * The Mongo floor on the server at `mongoUrl`: sequential `insertOne`s of a change-document-sized document
 * into a bench database, each timed to the server's acknowledgement; the database is dropped afterwards.
 */
export async function measureMongoInsertFloor(
  mongoUrl: string,
  options: MongoFloorOptions,
): Promise<Summary> {
  const warmup = options.warmup ?? Math.min(20, options.count);
  const dbName = options.dbName ?? `bench-floor-${randomBytes(4).toString('hex')}`;
  const client = new MongoClient(mongoUrlWithDatabase(mongoUrl, dbName), {
    serverSelectionTimeoutMS: 10_000,
  });
  await client.connect();
  const db = client.db(dbName);
  try {
    const collection = db.collection('floor');
    const samples: number[] = [];
    for (let i = 0; i < warmup + options.count; i++) {
      const id = randomBytes(12).toString('hex');
      const document = {
        _id: `${id}:0`,
        aggregateId: id,
        version: 0,
        state: { title: 'Bench floor', priceCents: 2500, userId: randomBytes(12).toString('hex') },
        events: [],
        published: false,
        at: new Date(),
      };
      const started = performance.now();
      await collection.insertOne(document as never);
      if (i >= warmup) samples.push(performance.now() - started);
    }
    return need(summarize(samples), 'mongo insertOne');
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

/** Options of {@link measureExpressFloor}. */
export interface ExpressFloorOptions {
  /** autocannon connections (as for the HTTP reads). */
  connections: number;
  /** Measured seconds. */
  durationSeconds: number;
  /** Warm-up seconds. */
  warmupSeconds: number;
  /** Where the empty app runs (default: its own process when compiled, else this one). */
  where?: 'process' | 'inline';
}

/** The HTTP floor: a bare Express 5 app answering 200 `{}`, hit by autocannon like the HTTP read test. */
export async function measureExpressFloor(
  options: ExpressFloorOptions,
): Promise<HttpFigures & { where: 'process' | 'inline' }> {
  const server = await startEmptyServer(options.where);
  try {
    const figures = await runLoad({
      name: 'express empty GET /',
      url: `${server.url}/`,
      connections: options.connections,
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
    });
    return { ...figures, where: server.where };
  } finally {
    await server.stop();
  }
}
