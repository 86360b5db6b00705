import { newEvent } from '@ticketing/common';
import { eventually, objectId, readStream, signTestUser } from '@ticketing/testing';
import request from 'supertest';
import { OrderLifecycle } from '../models/lifecycle';
import {
  commitLeftover,
  eventSequence,
  type OrdersHarness,
  startOrdersHarness,
} from '../test-support/harness';

let h: OrdersHarness;

beforeAll(async () => {
  h = await startOrdersHarness();
});

afterAll(async () => {
  await h?.stop();
});

function api() {
  return request(h.running.app);
}

function publish(...args: Parameters<OrdersHarness['running']['context']['bus']['publish']>) {
  return h.running.context.bus.publish(...args);
}

async function placeOrder(ticketId: string) {
  const buyer = signTestUser();
  const res = await api().post('/api/orders').set('Cookie', buyer.cookie).send({ ticketId });
  expect(res.status).toBe(201);
  return { id: res.body.id as string, cookie: buyer.cookie };
}

async function orderState(orderId: string) {
  const order = await h.models.orders.get(orderId);
  return { status: order?.status, version: order?.version };
}

/** Waits until the listener acked everything published so far, then until the relay published what it caused. */
async function settled(subject: 'expiration.complete' | 'payment.created' | 'ticket.updated', seq: number) {
  await h.handled(subject, seq);
  await h.outboxesDrained();
}

describe('ticket replica', () => {
  it('converges on the last version whatever the delivery order, ignoring duplicates', async () => {
    const id = objectId();
    const userId = objectId();
    const version = (v: number) => ({ id, userId, version: v, title: `v${v}`, price: 10 + v });
    await publish('ticket.updated', version(2));
    await publish('ticket.updated', version(1));
    await publish('ticket.created', version(0));
    await eventually(async () => {
      expect(await h.models.tickets.get(id)).toMatchObject({ title: 'v2', price: 12, version: 2 });
    });

    // Re-published (new event ids, so JetStream keeps them): both are duplicates and change nothing.
    await publish('ticket.created', { ...version(0), title: 'stale' });
    const last = await publish('ticket.updated', { ...version(1), title: 'stale' });
    await h.handled('ticket.updated', last.seq);
    expect(await h.models.tickets.get(id)).toMatchObject({ title: 'v2', price: 12, version: 2 });
    // Each version was applied once: one change per version, none for the repeats.
    expect(await h.models.tickets.changes.countDocuments({ aggregateId: id })).toBe(3);

    const order = await api().post('/api/orders').set('Cookie', signTestUser().cookie).send({ ticketId: id });
    expect(order.body.ticket).toEqual({ id, title: 'v2', price: 12 });
  });

  it('keeps a reservation through ticket.updated: the replica change does not free the ticket', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    const ack = await publish('ticket.updated', {
      ...ticket,
      version: 1,
      title: 'Renamed',
      orderId: order.id,
    });
    await h.handled('ticket.updated', ack.seq);
    expect(await h.models.tickets.get(ticket.id)).toMatchObject({ title: 'Renamed', version: 1 });

    const other = await api()
      .post('/api/orders')
      .set('Cookie', signTestUser().cookie)
      .send({ ticketId: ticket.id });
    expect(other.status).toBe(409);
  });
});

describe('expiration.complete', () => {
  it('cancels an unpaid order with order.cancelled v1, once, and frees its ticket', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    await publish('expiration.complete', { orderId: order.id, version: 0 });
    await eventually(async () => {
      expect(await orderState(order.id)).toEqual({ status: 'cancelled', version: 1 });
    });

    const again = await publish('expiration.complete', { orderId: order.id, version: 0 });
    await settled('expiration.complete', again.seq);
    expect(await orderState(order.id)).toEqual({ status: 'cancelled', version: 1 });
    const events = await h.orderEvents(order.id);
    expect(eventSequence(events)).toEqual([
      ['order.created', 0],
      ['order.cancelled', 1],
    ]);
    expect(events[1]!.data).toEqual({ id: order.id, version: 1, ticket: { id: ticket.id } });

    expect(await h.models.reservations.get(ticket.id)).toMatchObject({ orderId: null });
    const next = await api()
      .post('/api/orders')
      .set('Cookie', signTestUser().cookie)
      .send({ ticketId: ticket.id });
    expect(next.status).toBe(201);
  });

  it('never frees the next buyer’s reservation when an old order’s expiration comes again', async () => {
    const ticket = await h.seedTicket();
    const first = await placeOrder(ticket.id);
    const expired = await publish('expiration.complete', { orderId: first.id, version: 0 });
    await settled('expiration.complete', expired.seq);
    const second = await placeOrder(ticket.id);

    const again = await publish('expiration.complete', { orderId: first.id, version: 0 });
    await settled('expiration.complete', again.seq);
    expect(await h.models.reservations.get(ticket.id)).toMatchObject({ orderId: second.id });
    expect(await orderState(second.id)).toEqual({ status: 'created', version: 0 });
    const other = await api()
      .post('/api/orders')
      .set('Cookie', signTestUser().cookie)
      .send({ ticketId: ticket.id });
    expect(other.status).toBe(409);
  });

  it('dead-letters an expiration for an order this service never created', async () => {
    const orderId = objectId();
    await publish('expiration.complete', { orderId, version: 0 });
    const [letter] = await eventually(async () => {
      const letters = (
        await readStream({ servers: h.natsUrl, stream: 'DLQ', filter: 'dlq.orders.expiration.complete' })
      ).filter((message) => (message.data as { orderId: string }).orderId === orderId);
      expect(letters).toHaveLength(1);
      return letters;
    });
    expect(Object.values(letter!.headers).join(' ')).toContain('unknown order');
  });
});

describe('payment.created', () => {
  it('completes the order with order.completed v1, once; a later expiration changes nothing', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    const payment = { id: objectId(), version: 0, orderId: order.id, chargeId: 'ch_1' };
    await publish('payment.created', payment);
    await eventually(async () => {
      expect(await orderState(order.id)).toEqual({ status: 'complete', version: 1 });
    });
    const repeat = await publish('payment.created', payment);
    await settled('payment.created', repeat.seq);

    const expiry = await publish('expiration.complete', { orderId: order.id, version: 0 });
    await settled('expiration.complete', expiry.seq);
    expect(await orderState(order.id)).toEqual({ status: 'complete', version: 1 });
    const events = await h.orderEvents(order.id);
    expect(eventSequence(events)).toEqual([
      ['order.created', 0],
      ['order.completed', 1],
    ]);
    expect(events[1]!.data).toEqual({ id: order.id, version: 1, ticket: { id: ticket.id } });

    // Sold: the ticket stays taken.
    const next = await api()
      .post('/api/orders')
      .set('Cookie', signTestUser().cookie)
      .send({ ticketId: ticket.id });
    expect(next.status).toBe(409);
  });

  it('leaves a cancelled order cancelled (payments refunds it)', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    expect((await api().delete(`/api/orders/${order.id}`).set('Cookie', order.cookie)).status).toBe(204);

    const ack = await publish('payment.created', {
      id: objectId(),
      version: 0,
      orderId: order.id,
      chargeId: 'ch_2',
    });
    await settled('payment.created', ack.seq);
    expect(await orderState(order.id)).toEqual({ status: 'cancelled', version: 1 });
    expect(eventSequence(await h.orderEvents(order.id))).toEqual([
      ['order.created', 0],
      ['order.cancelled', 1],
    ]);
  });
});

describe('cancel versus pay', () => {
  it('lets the first of 10 concurrent settlements decide: one v1 event, every contender reports it', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    const placed = (await h.models.orders.get(order.id))!;
    const lifecycle = new OrderLifecycle({ models: h.models, logger: h.running.context.logger });

    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => lifecycle.settle(placed, i % 2 === 0 ? 'cancelled' : 'complete')),
    );
    const outcome = outcomes[0]!;
    expect(outcomes).toEqual(Array(10).fill(outcome));
    expect(await orderState(order.id)).toEqual({ status: outcome, version: 1 });
    expect(await h.models.reservations.get(ticket.id)).toMatchObject({
      orderId: outcome === 'cancelled' ? null : order.id,
    });
    await h.outboxesDrained();
    expect(eventSequence(await h.orderEvents(order.id))).toEqual([
      ['order.created', 0],
      [outcome === 'cancelled' ? 'order.cancelled' : 'order.completed', 1],
    ]);
  });

  it('retries, never dead-letters, a payment for an order whose head its dead writer had not written', async () => {
    const ticket = await h.seedTicket();
    const orderId = objectId();
    const userId = objectId();
    const expiresAt = new Date(Date.now() + 60_000);
    const created = newEvent('order.created', {
      id: orderId,
      version: 0,
      userId,
      status: 'created',
      expiresAt: expiresAt.toISOString(),
      ticket: { id: ticket.id, price: ticket.price },
    });
    // The relay is what rolls such a head forward, but only once NATS took the event: keep it out of play.
    await h.running.context.relay.stop();
    try {
      // Not yet old enough to be rolled forward: the first deliveries find no head and must come back.
      await commitLeftover(
        h.models.orders,
        orderId,
        0,
        {
          userId,
          status: 'created',
          expiresAt,
          ticket: { id: ticket.id, title: ticket.title, price: ticket.price },
        },
        { ageMs: 4_000, head: false, events: [created] },
      );
      const ack = await publish('payment.created', { id: objectId(), version: 0, orderId, chargeId: 'ch_3' });
      await h.handled('payment.created', ack.seq);
      expect(await orderState(orderId)).toEqual({ status: 'complete', version: 1 });
    } finally {
      h.running.context.relay.start();
    }
    await h.outboxesDrained();
    expect(eventSequence(await h.orderEvents(orderId))).toEqual([
      ['order.created', 0],
      ['order.completed', 1],
    ]);
    const letters = await readStream({
      servers: h.natsUrl,
      stream: 'DLQ',
      filter: 'dlq.orders.payment.created',
    });
    expect(letters.filter((letter) => (letter.data as { orderId: string }).orderId === orderId)).toEqual([]);
  });
});
