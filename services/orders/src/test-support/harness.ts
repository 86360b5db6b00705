import {
  type AggregateStore,
  durableName,
  type EventData,
  type OutboxEvent,
  type RunningService,
  startService,
} from '@ticketing/common';
import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  objectId,
  readStream,
  type StreamMessage,
  serviceTestEnv,
  startMongo,
  startNats,
} from '@ticketing/testing';
import { ordersService } from '../app';
import type { OrdersConfig } from '../config';
import type { OrdersModels } from '../models/models';

/** One orders service on its own nats-server and database, for one test file. */
export interface OrdersHarness {
  /** The running service (listeners, relay, app). */
  running: RunningService<OrdersConfig, OrdersModels>;
  /** The service's stores, to look at (or, for crash simulations, shape) what it stored. */
  models: OrdersModels;
  /** The NATS URL. */
  natsUrl: string;
  /** Publishes ticket.created and waits until the replica holds the ticket. */
  seedTicket(overrides?: Partial<EventData<'ticket.created'>>): Promise<EventData<'ticket.created'>>;
  /** The ORDERS stream's messages about one order, in stream order. */
  orderEvents(orderId: string): Promise<StreamMessage[]>;
  /** Resolves once the relay has handled every change: what was written has reached the stream. */
  outboxesDrained(): Promise<void>;
  /** Resolves once the orders durable of `subject` acknowledged everything up to stream sequence `seq`. */
  handled(subject: 'expiration.complete' | 'payment.created' | 'ticket.updated', seq: number): Promise<void>;
  /** Stops the service and the servers. */
  stop(): Promise<void>;
}

const streamOf = {
  'expiration.complete': 'EXPIRATION',
  'payment.created': 'PAYMENTS',
  'ticket.updated': 'TICKETS',
};

/** Starts nats-server, a database and the orders service (listen: false), with short retry delays. */
export async function startOrdersHarness(env: Record<string, string> = {}): Promise<OrdersHarness> {
  const [nats, mongo]: [NatsServerHandle, MongoHandle] = await Promise.all([startNats(), startMongo()]);
  const running = await startService(
    { ...ordersService, listenerOptions: { retryDelayMs: 50, maxRetryDelayMs: 200 }, relayIntervalMs: 200 },
    {
      env: serviceTestEnv({ nats, mongo }, env),
      listen: false,
    },
  );
  const models = running.context.models;
  return {
    running,
    models,
    natsUrl: nats.url,
    async seedTicket(overrides = {}) {
      const ticket = {
        id: objectId(),
        version: 0,
        title: 'Concert',
        price: 20,
        userId: objectId(),
        ...overrides,
      };
      await running.context.bus.publish('ticket.created', ticket);
      await eventually(async () => {
        expect(await models.tickets.get(ticket.id)).toBeTruthy();
      });
      return ticket;
    },
    async orderEvents(orderId) {
      const messages = await readStream({ servers: nats.url, stream: 'ORDERS' });
      return messages.filter((message) => (message.data as { id?: string }).id === orderId);
    },
    async outboxesDrained() {
      await eventually(async () => {
        for (const store of models.outbox) {
          expect(await store.changes.countDocuments({ published: false })).toBe(0);
        }
      });
    },
    async handled(subject, seq) {
      await eventually(async () => {
        const info = await running.context.bus.jsm.consumers.info(
          streamOf[subject],
          durableName('orders', subject),
        );
        expect(info.ack_floor.stream_seq).toBeGreaterThanOrEqual(seq);
      });
    },
    async stop() {
      try {
        await running.stop();
      } finally {
        await Promise.all([mongo.stop(), nats.close()]);
      }
    },
  };
}

/** What {@link commitLeftover} writes besides the change. */
export interface LeftoverOptions {
  /** How long ago the writer died, in ms. */
  ageMs: number;
  /** Whether the writer got as far as the head document. */
  head: boolean;
  /** The events of the change. */
  events?: OutboxEvent[];
}

/**
 * Writes version `version` of an aggregate the way a writer that died `ageMs` ago left it: its change (the
 * claim of that version, with its events) and, if it got that far, its head. Written around the store, as
 * only a crash can produce it.
 */
export async function commitLeftover<T extends object>(
  store: AggregateStore<T>,
  id: string,
  version: number,
  state: T,
  options: LeftoverOptions,
): Promise<void> {
  const at = new Date(Date.now() - options.ageMs);
  // A writer puts its pending marker down before its claim, so a crash after the claim always leaves both.
  await store.pending.insertOne({
    _id: `${id}:${version}#leftover`,
    changeId: `${id}:${version}`,
    aggregateId: id,
    version,
    at,
  });
  await store.changes.insertOne({
    _id: `${id}:${version}`,
    aggregateId: id,
    version,
    state: state as Record<string, unknown>,
    events: options.events ?? [],
    published: false,
    at,
  });
  if (options.head) {
    await store.model.replaceOne({ _id: id } as never, { ...state, version } as never, { upsert: true });
  }
}

/** `subject` and `data.version` of each message, to assert an order's event sequence. */
export function eventSequence(messages: StreamMessage[]): Array<[string, number]> {
  return messages.map((message) => [message.subject, (message.data as { version: number }).version]);
}
