import { durableName, type EventData, type RunningService, startService } from '@ticketing/common';
import {
  eventually,
  objectId,
  type ServiceHarness,
  type StreamMessage,
  startServiceHarness,
} from '@ticketing/testing';
import { ordersService } from '../app';
import type { OrdersConfig } from '../config';
import type { OrdersStores } from '../models/order-book';

/** The orders service on its own nats-server and database, for one test file. */
export interface OrdersHarness extends ServiceHarness<RunningService<OrdersConfig>> {
  /** The service's stores, to look at (or, for crash simulations, shape) what it stored. */
  stores: OrdersStores;
  /** Publishes a catalog event the way its owner would. */
  publish: RunningService['context']['bus']['publish'];
  /** Publishes ticket.created (a seller of its own unless given) and waits until the replica holds the ticket. */
  seedTicket(overrides?: Partial<EventData<'ticket.created'>>): Promise<EventData<'ticket.created'>>;
  /** Publishes the ticket.updated with which the tickets service reserves `ticket` for `orderId`. */
  confirm(ticket: EventData<'ticket.created'>, orderId: string, version?: number): Promise<void>;
  /** The ORDERS stream's messages about one order, in stream order. */
  orderEvents(orderId: string): Promise<StreamMessage[]>;
  /** Resolves once the relay has published every change written so far. */
  outboxesDrained(): Promise<void>;
  /** Resolves once the orders durable of `subject` settled everything up to stream sequence `seq`. */
  handled(
    subject: 'expiration.complete' | 'payment.created' | 'ticket.updated' | 'ticket.refused',
    seq: number,
  ): Promise<void>;
}

const streamOf = {
  'expiration.complete': 'EXPIRATION',
  'payment.created': 'PAYMENTS',
  'ticket.updated': 'TICKETS',
  'ticket.refused': 'TICKETS',
} as const;

/** Starts nats-server, a database and the orders service (listen: false), with short retry delays. */
export async function startOrdersHarness(env: Record<string, string> = {}): Promise<OrdersHarness> {
  const harness = await startServiceHarness(
    (serviceEnv) =>
      startService(
        {
          ...ordersService,
          tuning: {
            listeners: { retryDelayMs: 50, maxRetryDelayMs: 200 },
            relay: { heartbeatMs: 200, staleAfterMs: 1000 },
          },
        },
        { env: serviceEnv, listen: false },
      ),
    env,
  );
  const { running } = harness;
  const stores = running.parts.stores as unknown as OrdersStores;
  const publish: OrdersHarness['publish'] = (...args) => running.context.bus.publish(...args);
  return {
    ...harness,
    stores,
    publish,
    async seedTicket(overrides = {}) {
      const ticket = {
        id: objectId(),
        version: 0,
        title: 'Concert',
        price: 20,
        currency: 'usd' as const,
        userId: objectId(),
        ...overrides,
      };
      await publish('ticket.created', ticket);
      await eventually(async () => {
        expect(await stores.tickets.get(ticket.id)).toBeTruthy();
      });
      return ticket;
    },
    async confirm(ticket, orderId, version = 1) {
      const { id, title, price, userId } = ticket;
      await publish('ticket.updated', { id, version, title, price, userId, orderId });
      await eventually(async () => {
        expect(await stores.tickets.get(id)).toMatchObject({ orderId, version });
      });
    },
    async orderEvents(orderId) {
      const messages = await harness.messages('ORDERS');
      return messages.filter((message) => (message.data as { id?: string }).id === orderId);
    },
    async outboxesDrained() {
      await running.relay.drained();
    },
    handled(subject, seq) {
      return harness.settled(streamOf[subject], durableName('orders', subject), seq);
    },
  };
}

/** `subject` and `data.version` of each message, to assert an order's event sequence. */
export function eventSequence(messages: StreamMessage[]): Array<[string, number]> {
  return messages.map((message) => [message.subject, (message.data as { version: number }).version]);
}
