import {
  durableName,
  type EventData,
  type RunningService,
  type Subject,
  startService,
} from '@ticketing/common';
import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  objectId,
  readStream,
  type SignedTestUser,
  serviceTestEnv,
  signTestUser,
  startMongo,
  startNats,
} from '@ticketing/testing';
import request from 'supertest';
import { ticketsService } from '../app';
import type { TicketsConfig } from '../config';
import type { TicketModel, TicketStore, TicketsModels } from '../models/ticket';

/** One real nats-server, one Mongo database and one started tickets service, for one test file. */
export interface Harness {
  nats: NatsServerHandle;
  mongo: MongoHandle;
  running: RunningService<TicketsConfig, TicketsModels>;
  /** Ticket head documents, for asserting on stored state. */
  tickets: TicketModel;
  /** The store, whose change documents show what is still unpublished. */
  store: TicketStore;
}

/** Starts the servers and the service (listeners with short retry delays, so held-back events return fast). */
export async function startHarness(): Promise<Harness> {
  const [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  const running = await startService(
    { ...ticketsService, listenerOptions: { retryDelayMs: 100, maxRetryDelayMs: 400, maxDeliver: 50 } },
    {
      env: serviceTestEnv({ nats, mongo }),
      listen: false,
    },
  );
  const { ticketHeads, tickets } = running.context.models;
  return { nats, mongo, running, tickets: ticketHeads, store: tickets };
}

/** Stops the service, drops the database, stops nats-server. */
export async function stopHarness(harness: Harness | undefined): Promise<void> {
  await harness?.running.stop();
  await harness?.mongo.stop();
  await harness?.nats.close();
}

/** How many changes of a ticket are not yet published (their events not acknowledged by JetStream). */
export function unpublishedChanges(harness: Harness, ticketId: string): Promise<number> {
  return harness.store.changes.countDocuments({ aggregateId: ticketId, published: false });
}

/** Creates a ticket through the API as `owner`; resolves with its id. */
export async function createTicket(
  harness: Harness,
  owner: SignedTestUser = signTestUser(),
  body: object = { title: 'Concert', price: 20 },
): Promise<string> {
  const res = await request(harness.running.app).post('/api/tickets').set('Cookie', owner.cookie).send(body);
  if (res.status !== 201) throw new Error(`create ticket: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** A ticket event as stored in the TICKETS stream. */
export interface StoredTicketEvent {
  subject: string;
  data: EventData<'ticket.updated'>;
}

/** The ticket.* events of one ticket, in stream order, as JetStream stored them. */
export async function ticketEvents(harness: Harness, ticketId: string): Promise<StoredTicketEvent[]> {
  const messages = await readStream({ servers: harness.nats.url, stream: 'TICKETS' });
  return messages
    .filter((message) => (message.data as { id?: string }).id === ticketId)
    .map((message) => ({ subject: message.subject, data: message.data as EventData<'ticket.updated'> }));
}

/** Waits until the ticket's events on the stream are exactly the given (subject, version) list, in order. */
export async function expectTicketEvents(
  harness: Harness,
  ticketId: string,
  expected: Array<[Subject, number]>,
): Promise<StoredTicketEvent[]> {
  return eventually(async () => {
    const events = await ticketEvents(harness, ticketId);
    expect(events.map((e) => [e.subject, e.data.version])).toEqual(expected);
    return events;
  });
}

/** Publishes a real order event on the ORDERS stream; resolves with its stream sequence. */
export async function publishOrderEvent<S extends 'order.created' | 'order.cancelled' | 'order.completed'>(
  harness: Harness,
  subject: S,
  data: EventData<S>,
): Promise<number> {
  const ack = await harness.running.context.bus.publish(subject, data);
  return ack.seq;
}

/** Waits until the tickets service has settled (acked or dead-lettered) the ORDERS message at `seq`. */
export async function waitUntilSettled(harness: Harness, subject: Subject, seq: number): Promise<void> {
  await eventually(async () => {
    const info = await harness.running.context.bus.jsm.consumers.info(
      'ORDERS',
      durableName('tickets', subject),
    );
    expect(info.ack_floor.stream_seq).toBeGreaterThanOrEqual(seq);
  });
}

/** How many messages of `subject` the service's listeners ended with `outcome` (from its metrics). */
export async function listenerOutcomes(harness: Harness, subject: Subject, outcome: string): Promise<number> {
  const metric = harness.running.context.metrics.getSingleMetric('events_handled_total');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((value) => value.labels.subject === subject && value.labels.outcome === outcome)
    .reduce((sum, value) => sum + value.value, 0);
}

/** A valid order.created payload for a ticket. */
export function orderCreated(ticketId: string, orderId = objectId()): EventData<'order.created'> {
  return {
    id: orderId,
    version: 0,
    userId: objectId(),
    status: 'created',
    expiresAt: new Date(Date.now() + 900_000).toISOString(),
    ticket: { id: ticketId, price: 20 },
  };
}

/** A valid order.cancelled / order.completed payload. */
export function orderFollowUp(
  ticketId: string,
  orderId: string,
  version: number,
): EventData<'order.cancelled'> & EventData<'order.completed'> {
  return { id: orderId, version, ticket: { id: ticketId } };
}
