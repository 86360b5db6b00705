import { eventually, type NatsServerHandle, objectId, startNats } from '@ticketing/testing';
import { type RunningNotifications, registerWebhook, startNotifications } from '../test-support/harness';
import { type Receiver, startReceiver } from '../test-support/receiver';

let nats: NatsServerHandle;
let running: RunningNotifications;
let stop: () => Promise<void>;
let receiver: Receiver;

beforeAll(async () => {
  nats = await startNats();
  ({ running, stop } = await startNotifications(nats, { ORDER_EXPIRING_LEAD_SECONDS: '2' }));
  receiver = await startReceiver();
});
afterAll(async () => {
  await stop?.();
  await receiver?.close();
  await nats?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const publish: RunningNotifications['context']['bus']['publish'] = (...args) =>
  running.context.bus.publish(...args);
const typesFor = (id: string) =>
  receiver.received
    .filter((r) => r.body.data.orderId === id || r.body.data.ticketId === id)
    .map((r) => r.body.type);

it('tells a seller their ticket was reserved, sold, or put back on sale', async () => {
  const { user: seller } = await registerWebhook(running, receiver.url, [
    'ticket.reserved',
    'ticket.sold',
    'ticket.relisted',
  ]);
  const ticket = { id: objectId(), title: 'Gig', price: 30, userId: seller.user.id };
  const [first, second] = [objectId(), objectId()];
  await publish('ticket.created', { ...ticket, version: 0 });
  await publish('ticket.updated', { ...ticket, version: 1, orderId: first });
  await publish('ticket.updated', { ...ticket, version: 2 }); // the order was cancelled
  await publish('ticket.updated', { ...ticket, version: 3, orderId: second });
  await publish('order.created', {
    id: second,
    version: 0,
    userId: objectId(),
    status: 'created',
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
    ticket: { id: ticket.id, price: 30 },
  });
  await publish('order.completed', { id: second, version: 1, ticket: { id: ticket.id } });

  await eventually(() => expect(typesFor(ticket.id)).toHaveLength(4), { timeoutMs: 15_000 });
  expect(typesFor(ticket.id)).toEqual([
    'ticket.reserved',
    'ticket.relisted',
    'ticket.reserved',
    'ticket.sold',
  ]);
  expect(receiver.received.at(-1)!.body.data).toEqual({ orderId: second, ticketId: ticket.id });
});

it('tells a buyer an unpaid order expires soon, and not for an order that ended first', async () => {
  const { user: buyer } = await registerWebhook(running, receiver.url, [
    'order.created',
    'order.cancelled',
    'order.expiring',
  ]);
  const order = (id: string, expiresInMs: number) => ({
    id,
    version: 0,
    userId: buyer.user.id,
    status: 'created' as const,
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
    ticket: { id: objectId(), price: 10 },
  });
  const [unpaid, cancelled] = [order(objectId(), 3000), order(objectId(), 3000)];
  await publish('order.created', unpaid);
  await publish('order.created', cancelled);
  await publish('order.cancelled', {
    id: cancelled.id,
    version: 1,
    ticket: cancelled.ticket,
    reason: 'buyer_cancelled',
  });

  await eventually(() => expect(typesFor(unpaid.id)).toEqual(['order.created', 'order.expiring']), {
    timeoutMs: 15_000,
  });
  const expiring = receiver.received.find((r) => r.body.type === 'order.expiring')!;
  // Two seconds (the lead) before it expires, give or take the poll.
  expect(expiring.at).toBeLessThan(new Date(unpaid.expiresAt).getTime());
  expect(expiring.body.data).toEqual({
    orderId: unpaid.id,
    ticketId: unpaid.ticket.id,
    expiresAt: unpaid.expiresAt,
  });
  await sleep(1500);
  expect(typesFor(cancelled.id)).toEqual(['order.created', 'order.cancelled']);
});
