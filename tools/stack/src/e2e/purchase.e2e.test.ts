import { headers as natsHeaders } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { eventually, readStream } from '@ticketing/testing';
import { consistencyViolations } from './consistency';
import {
  ApiClient,
  listTicket,
  orderTicket,
  payOrder,
  startTestStack,
  type TestStack,
  waitForOrderStatus,
} from './support';

let test: TestStack;

beforeAll(async () => {
  test = await startTestStack({ API_VALIDATE_RESPONSES: 'true' });
}, 180_000);

afterAll(async () => {
  await test?.stop();
});

function streamOf(name: string) {
  return readStream({ servers: test.stack.natsUrl, stream: name });
}

it('reports every service ready at /api/health', async () => {
  // Each probe is bounded by a short timeout; on a loaded machine one may miss it once, so ask until it answers.
  await eventually(async () => {
    const health = await fetch(`${test.stack.url}/api/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { services: Record<string, { ready: boolean }> };
    expect(Object.keys(body.services).sort()).toEqual([
      'auth',
      'client',
      'expiration',
      'notifications',
      'orders',
      'payments',
      'tickets',
    ]);
  });
}, 180_000);

it('sells a ticket: order, pay, complete; the ticket stays reserved and off the list; events on every stream in order', async () => {
  const seller = await new ApiClient(test.stack.url).signup();
  const buyer = await new ApiClient(test.stack.url).signup();
  const ticket = await listTicket(seller, 40, 'Purchase test');
  const order = await orderTicket(buyer, ticket.id);
  expect(order.status).toBe('created');
  const paid = await payOrder(buyer, order.id);
  expect(paid.status).toBe(201);
  await waitForOrderStatus(buyer, order.id, 'complete');

  // Tickets applies order.created on its own path (not the payment's): ask until it has.
  await eventually(async () => {
    const shown = await buyer.request<{ orderId?: string }>('GET', `/api/tickets/${ticket.id}`);
    expect(shown.body.orderId).toBe(order.id);
    const listed = await buyer.request<Array<{ id: string }>>('GET', '/api/tickets');
    expect(listed.body.map((t) => t.id)).not.toContain(ticket.id);
  });

  await eventually(async () => {
    const tickets = (await streamOf('TICKETS')).filter((m) => (m.data as { id: string }).id === ticket.id);
    expect(tickets.map((m) => [m.subject, (m.data as { version: number }).version])).toEqual([
      ['ticket.created', 0],
      ['ticket.updated', 1],
      ['ticket.updated', 2],
    ]);
    expect((tickets[1]!.data as { orderId?: string }).orderId).toBe(order.id);
    const orders = (await streamOf('ORDERS')).filter((m) => (m.data as { id: string }).id === order.id);
    expect(orders.map((m) => [m.subject, (m.data as { version: number }).version])).toEqual([
      ['order.created', 0],
      ['order.completed', 1],
    ]);
    const payments = (await streamOf('PAYMENTS')).filter(
      (m) => (m.data as { orderId: string }).orderId === order.id,
    );
    expect(payments.map((m) => m.subject)).toEqual(['payment.created']);
  });
  await eventually(async () => expect(await consistencyViolations(test)).toEqual([]), {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
}, 180_000);

it('lets someone else buy a ticket the moment its order is cancelled, and every service agrees', async () => {
  const seller = await new ApiClient(test.stack.url).signup();
  // A buyer who let a ticket go may not reserve it again for REORDER_COOLDOWN_SECONDS: new buyers each round.
  const buyers = await Promise.all(Array.from({ length: 7 }, () => new ApiClient(test.stack.url).signup()));
  const ticket = await listTicket(seller, 18, 'Cancel and re-order');
  for (let round = 0; round < 3; round++) {
    const [first, second] = [buyers[2 * round]!, buyers[2 * round + 1]!];
    const order = await orderTicket(first, ticket.id);
    expect((await first.request('DELETE', `/api/orders/${order.id}`)).status).toBe(204);
    const again = await orderTicket(second, ticket.id); // orders released it: at once
    expect((await second.request('DELETE', `/api/orders/${again.id}`)).status).toBe(204);
    const refused = await first.request('POST', '/api/orders', { ticketId: ticket.id });
    expect(refused.status).toBe(409); // the cooldown of the buyer who let it go
  }
  const second = buyers[6]!;
  const last = await orderTicket(second, ticket.id);
  expect((await payOrder(second, last.id)).status).toBe(201);
  await waitForOrderStatus(second, last.id, 'complete');
  await eventually(async () => {
    const shown = await seller.request<{ orderId?: string }>('GET', `/api/tickets/${ticket.id}`);
    expect(shown.body.orderId).toBe(last.id);
  });
  await eventually(async () => expect(await consistencyViolations(test)).toEqual([]), {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
}, 180_000);

it('sells a ticket once to 30 concurrent buyers', async () => {
  const seller = await new ApiClient(test.stack.url).signup();
  const ticket = await listTicket(seller, 15, 'Race test');
  const buyers = await Promise.all(Array.from({ length: 30 }, () => new ApiClient(test.stack.url).signup()));
  await orderTicket(buyers[0]!, ticket.id).then((first) =>
    buyers[0]!.request('DELETE', `/api/orders/${first.id}`),
  ); // replica is there
  const answers = await Promise.all(
    buyers.map((buyer) => buyer.request('POST', '/api/orders', { ticketId: ticket.id })),
  );
  const statuses = answers.map((answer) => answer.status).sort();
  expect(statuses.filter((s) => s === 201)).toHaveLength(1);
  expect(statuses.filter((s) => s === 409)).toHaveLength(29);
  await eventually(async () => {
    const live = await test
      .db('orders')
      .collection('orders')
      .countDocuments({ 'ticket.id': ticket.id, status: { $ne: 'cancelled' } });
    expect(live).toBe(1);
  });
}, 180_000);

it('dead-letters malformed and schema-invalid events and still completes the next purchase', async () => {
  const nc = await connect({ servers: test.stack.natsUrl });
  try {
    const { jetstream } = await import('@nats-io/jetstream');
    const js = jetstream(nc);
    const h = natsHeaders();
    h.set('Ticketing-Correlation-Id', 'poison-test');
    await js.publish('ticket.created', '{"id": not json', { headers: h });
    await js.publish('ticket.created', JSON.stringify({ id: 'x', version: 0, title: '', price: -1 }), {
      headers: h,
    });
    await js.publish('order.created', '<<<', { headers: h });
    await js.publish('order.created', JSON.stringify({ id: 'a'.repeat(24), version: 0, status: 'created' }), {
      headers: h,
    });
  } finally {
    await nc.close();
  }
  await eventually(
    async () => {
      const subjects = (await streamOf('DLQ')).map((m) => m.subject);
      expect(subjects.filter((s) => s === 'dlq.orders.ticket.created')).toHaveLength(2);
      for (const service of ['tickets', 'payments', 'expiration', 'notifications']) {
        expect(subjects.filter((s) => s === `dlq.${service}.order.created`)).toHaveLength(2);
      }
    },
    { timeoutMs: 20_000 },
  );
  const letter = (await streamOf('DLQ')).find((m) => m.subject === 'dlq.orders.ticket.created')!;
  expect(letter.raw).toBe('{"id": not json');
  expect(letter.headers['Ticketing-Dlq-Error']).toMatch(/malformed JSON/);

  const seller = await new ApiClient(test.stack.url).signup();
  const buyer = await new ApiClient(test.stack.url).signup();
  const ticket = await listTicket(seller, 22, 'After poison');
  const order = await orderTicket(buyer, ticket.id);
  expect((await payOrder(buyer, order.id)).status).toBe(201);
  await waitForOrderStatus(buyer, order.id, 'complete');
}, 180_000);
