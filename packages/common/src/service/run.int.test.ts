import { connect } from '@nats-io/transport-node';
import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  objectId,
  readStream,
  signTestUser,
  startMongo,
  startNats,
} from '@ticketing/testing';
import request from 'supertest';
import { z } from 'zod';
import { serviceInboxPrefix } from '../bus/bus';
import { on } from '../bus/listener';
import { ConfigError, serviceConfigSchema } from '../config';
import type { EventData } from '../events/catalog';
import { sleep, ticketCreated } from '../test-support/fixtures';
import { type RunningService, type ServiceDefinition, startService } from './run';

const configSchema = serviceConfigSchema.extend({ GREETING: z.string().default('hello') });
type Config = z.output<typeof configSchema>;

const seen: string[] = [];
let slowHandlerFinished = false;
let releaseSlowHandler: () => void = () => undefined;
const slowHandlerReleased = new Promise<void>((resolve) => {
  releaseSlowHandler = resolve;
});

async function remember(data: EventData<'ticket.created'>): Promise<void> {
  if (data.title === 'slow') {
    await slowHandlerReleased;
    slowHandlerFinished = true;
  }
  seen.push(data.id);
}

/** A service in the shape every service has: a store, a route, a subscription table. */
const definition: ServiceDefinition<Config> = {
  name: 'notes',
  configSchema,
  build(context) {
    const notes = context.store<{ title: string }>('notes');
    return {
      routes(api) {
        api.route({
          method: 'post',
          path: '/api/notes',
          operationId: 'createNote',
          summary: 'A note whose creation announces a ticket',
          auth: 'required',
          responses: { 201: { description: 'Created' } },
          async handler(req, res) {
            const id = objectId();
            const ticket = ticketCreated({ id, userId: req.currentUser!.id });
            const { version: _, ...data } = ticket;
            await notes.create(id, { title: 'n' }, [{ subject: 'ticket.created', data }]);
            res.status(201).send({ id, greeting: context.config.GREETING });
          },
        });
      },
      listeners: [on('ticket.created', remember)],
      stores: { notes },
    };
  },
};

let nats: NatsServerHandle;
let mongo: MongoHandle;

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
});

afterAll(async () => {
  await mongo?.stop();
  await nats?.close();
});

function env(overrides: Record<string, string> = {}) {
  return {
    MONGO_URL: mongo.url,
    NATS_URL: nats.url,
    JWT_KEY: 'test-jwt-key',
    COOKIE_SECURE: 'false',
    LOG_LEVEL: 'silent',
    PORT: '0',
    ...overrides,
  };
}

it('refuses to start on a bad config, naming each variable', async () => {
  await expect(
    startService(definition, { env: { NATS_URL: nats.url, JWT_KEY: 'x' }, listen: false }),
  ).rejects.toEqual(
    expect.objectContaining({
      name: 'ConfigError',
      message: expect.stringMatching(/MONGO_URL[\s\S]*JWT_KEY|JWT_KEY[\s\S]*MONGO_URL/),
    }),
  );
  await expect(startService(definition, { env: {}, listen: false })).rejects.toBeInstanceOf(ConfigError);
});

describe('a started service', () => {
  let running: RunningService<Config>;

  beforeAll(async () => {
    running = await startService(definition, { env: env({ GREETING: 'hi' }) });
  });

  afterAll(async () => {
    await running?.stop();
  });

  it('listens, is ready, and serves its routes with the validated config', async () => {
    expect(running.port).toBeGreaterThan(0);
    // Deliveries to the service come on its own inboxes (what its NATS permissions allow it to subscribe to).
    const watcher = await connect({ servers: nats.url });
    const onInbox: string[] = [];
    watcher.subscribe(`${serviceInboxPrefix('notes')}.>`, {
      callback: (_e, msg) => {
        onInbox.push(msg.string());
      },
    });
    const base = `http://127.0.0.1:${running.port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const user = signTestUser();
    const created = await request(running.app)
      .post('/api/notes')
      .set('Authorization', user.bearer)
      .send({})
      .expect(201);
    expect(created.body.greeting).toBe('hi');
    // The route wrote the event into the outbox only; the relay, kicked by the write, published it.
    await eventually(async () => {
      const stored = await readStream({ servers: nats.url, stream: 'TICKETS' });
      expect(stored.map((m) => (m.data as { id: string }).id)).toContain(created.body.id);
    });
    await eventually(() => expect(seen).toContain(created.body.id));
    await eventually(() => expect(onInbox.filter((data) => data.includes(created.body.id))).toHaveLength(1));
    await watcher.close();
  });

  it('creates its durable consumers and stops gracefully: in-flight handler finishes and acks, port closed', async () => {
    await running.context.bus.publish('ticket.created', ticketCreated({ title: 'slow' }));
    await eventually(async () => {
      const info = await running.context.bus.jsm.consumers.info('TICKETS', 'notes-ticket-created');
      expect(info.num_ack_pending).toBe(1);
    });
    const port = running.port;
    let stopped = false;
    const stopping = running.stop().then(() => {
      stopped = true;
    });
    await sleep(300);
    expect(stopped).toBe(false); // waiting for the handler in flight
    releaseSlowHandler();
    await stopping;
    expect(slowHandlerFinished).toBe(true);
    expect(running.context.bus.isClosed()).toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    // Read the consumer state from a fresh service instance: nothing left unacknowledged.
    const again = await startService(definition, { env: env(), listen: false });
    try {
      const info = await again.context.bus.jsm.consumers.info('TICKETS', 'notes-ticket-created');
      expect(info.num_ack_pending).toBe(0);
      expect(info.num_pending).toBe(0);
    } finally {
      await again.stop();
    }
  });
});
