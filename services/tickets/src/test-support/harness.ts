import {
  durableName,
  type EventData,
  type RunningService,
  type Subject,
  startService,
} from '@ticketing/common';
import {
  eventually,
  metricTotal,
  missingEvents,
  objectId,
  type ServiceHarness,
  type SignedTestUser,
  signTestUser,
  startServiceHarness,
} from '@ticketing/testing';
import request from 'supertest';
import { ticketsService } from '../app';
import type { TicketsConfig } from '../config';
import type { Ticket, TicketStore } from '../domain/ticket';

/** The tickets service on its own nats-server and database, for one test file. */
export interface Harness extends ServiceHarness<RunningService<TicketsConfig>> {
  /** The tickets store, to look at what was written. */
  store: TicketStore;
  /** The ticket as stored, or null. */
  stored(ticketId: string): Promise<Ticket | null>;
}

/** Starts the servers and the service (listeners with short retry delays, so held-back events return fast). */
export async function startHarness(): Promise<Harness> {
  const harness = await startServiceHarness((env) =>
    startService(
      {
        ...ticketsService,
        tuning: { listeners: { retryDelayMs: 100, maxRetryDelayMs: 400, maxDeliver: 50 } },
      },
      { env, listen: false },
    ),
  );
  const store = harness.running.parts.stores!.tickets as unknown as TicketStore;
  return { ...harness, store, stored: (ticketId) => store.get(ticketId) };
}

/** Stops the service, drops the database, stops nats-server. */
export async function stopHarness(harness: Harness | undefined): Promise<void> {
  await harness?.stop();
}

/** How many events of a ticket's changes the TICKETS stream does not hold yet. */
export async function unpublishedChanges(harness: Harness, ticketId: string): Promise<number> {
  const history = await harness.store.history(ticketId);
  return missingEvents(history, await harness.messages('TICKETS')).length;
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
  const messages = await harness.messages('TICKETS');
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
export function waitUntilSettled(harness: Harness, subject: Subject, seq: number): Promise<void> {
  return harness.settled('ORDERS', durableName('tickets', subject), seq);
}

/** How many messages of `subject` the service's listeners ended with `outcome` (from its metrics). */
export function listenerOutcomes(harness: Harness, subject: Subject, outcome: string): Promise<number> {
  return metricTotal(harness.running.context.metrics, 'events_handled_total', { subject, outcome });
}

/** A valid order.created payload for a ticket (priced at the tickets' default 20). */
export function orderCreated(ticketId: string, orderId = objectId(), price = 20): EventData<'order.created'> {
  return {
    id: orderId,
    version: 0,
    userId: objectId(),
    status: 'created',
    expiresAt: new Date(Date.now() + 900_000).toISOString(),
    ticket: { id: ticketId, price },
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
