import { type NatsServerHandle, objectId, readStream, startNats } from '@ticketing/testing';
import { EventSchemaError } from '../events/errors';
import { createLogger } from '../logging';
import { ticketCreated } from '../test-support/fixtures';
import { type Bus, connectBus } from './bus';
import { EventHeaders } from './headers';

const logger = createLogger({ service: 'test' });
let nats: NatsServerHandle;
let bus: Bus;

beforeAll(async () => {
  nats = await startNats();
  bus = await connectBus({ servers: nats.url, name: 'bus-test', logger });
  await bus.ensureStreams();
});

afterAll(async () => {
  await bus?.close();
  await nats?.close();
});

beforeEach(async () => {
  for (const stream of ['TICKETS', 'ORDERS', 'DLQ']) await bus.jsm.streams.purge(stream);
});

describe('streams', () => {
  it('creates every stream with file storage, limits retention and a duplicate window of at least 2 minutes', async () => {
    const infos = new Map<string, Awaited<ReturnType<typeof bus.jsm.streams.info>>>();
    for (const name of ['TICKETS', 'ORDERS', 'PAYMENTS', 'EXPIRATION', 'DLQ'])
      infos.set(name, await bus.jsm.streams.info(name));
    expect(infos.get('TICKETS')!.config.subjects).toEqual([
      'ticket.created',
      'ticket.updated',
      'ticket.refused',
    ]);
    expect(infos.get('ORDERS')!.config.subjects).toEqual([
      'order.created',
      'order.cancelled',
      'order.completed',
    ]);
    expect(infos.get('DLQ')!.config.subjects).toEqual(['dlq.>']);
    for (const info of infos.values()) {
      expect(info.config.storage).toBe('file');
      expect(info.config.retention).toBe('limits');
      expect(info.config.duplicate_window).toBeGreaterThanOrEqual(120 * 1e9);
    }
  });

  it('is idempotent, also when several services ensure the streams at once', async () => {
    await bus.publish('ticket.created', ticketCreated());
    await Promise.all([bus.ensureStreams(), bus.ensureStreams(), bus.ensureStreams()]);
    const info = await bus.jsm.streams.info('TICKETS');
    expect(info.state.messages).toBe(1);
  });
});

describe('publish', () => {
  it('stores one message when the same event is published twice inside the window', async () => {
    const data = ticketCreated();
    const first = await bus.publish('ticket.created', data, { id: 'event-1' });
    const second = await bus.publish('ticket.created', data, { id: 'event-1' });
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    const stored = await readStream({ servers: nats.url, stream: 'TICKETS' });
    expect(stored).toHaveLength(1);
    expect(stored[0]!.data).toEqual(data);
  });

  it('puts id, type, schema version, correlation id and time in headers', async () => {
    await bus.publish('ticket.created', ticketCreated(), { id: 'event-2', correlationId: 'req-42' });
    const [message] = await readStream({ servers: nats.url, stream: 'TICKETS' });
    expect(message!.headers[EventHeaders.id]).toBe('event-2');
    expect(message!.headers[EventHeaders.type]).toBe('ticket.created');
    expect(message!.headers[EventHeaders.schemaVersion]).toBe('2');
    expect(message!.headers[EventHeaders.correlationId]).toBe('req-42');
    expect(Date.parse(message!.headers[EventHeaders.occurredAt]!)).not.toBeNaN();
  });

  it('refuses a payload that fails its schema and stores nothing', async () => {
    const bad = { ...ticketCreated(), price: -1, userId: 'nope' };
    await expect(bus.publish('ticket.created', bad)).rejects.toBeInstanceOf(EventSchemaError);
    await expect(bus.publish('ticket.created', bad)).rejects.toThrow(/price.*userId|userId.*price/);
    await expect(bus.publish('order.cancelled', { id: objectId(), version: 1 })).rejects.toThrow(/ticket/);
    expect((await bus.jsm.streams.info('TICKETS')).state.messages).toBe(0);
  });
});
