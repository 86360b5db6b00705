import { eventually, objectId, readStream, signTestUser } from '@ticketing/testing';
import request from 'supertest';
import { eventSequence, type OrdersHarness, startOrdersHarness } from '../test-support/harness';

let h: OrdersHarness;

beforeAll(async () => {
  h = await startOrdersHarness({ REORDER_COOLDOWN_SECONDS: '0', REPLICA_WAIT_MS: '1000' });
});

afterAll(async () => {
  await h?.stop();
});

function api() {
  return request(h.running.app);
}

async function placeOrder(ticketId: string) {
  const buyer = signTestUser();
  const res = await api().post('/api/orders').set('Cookie', buyer.cookie).send({ ticketId });
  expect(res.status).toBe(201);
  return { id: res.body.id as string, cookie: buyer.cookie };
}

async function orderState(orderId: string) {
  const order = await h.stores.orders.get(orderId);
  return { status: order?.status, version: order?.version, cancelReason: order?.cancelReason };
}

/** Waits until the listener settled everything published so far, then until the relay published what it caused. */
async function settled(
  subject: 'expiration.complete' | 'payment.created' | 'ticket.updated' | 'ticket.refused',
  seq: number,
) {
  await h.handled(subject, seq);
  await h.outboxesDrained();
}

function payment(orderId: string) {
  return { id: objectId(), version: 0, orderId, chargeId: `ch_${objectId()}` };
}

describe('ticket replica', () => {
  it('converges on the last version whatever the delivery order, ignoring duplicates', async () => {
    const id = objectId();
    const userId = objectId();
    const version = (v: number) => ({ id, userId, version: v, title: `v${v}`, price: 10 + v });
    await h.publish('ticket.updated', version(2));
    await h.publish('ticket.updated', version(1));
    await h.publish('ticket.created', version(0));
    await eventually(async () => {
      expect(await h.stores.tickets.get(id)).toMatchObject({ title: 'v2', price: 12, version: 2 });
    });
    // Re-published (new event ids, so JetStream keeps them): both are duplicates and change nothing.
    await h.publish('ticket.created', { ...version(0), title: 'stale' });
    const last = await h.publish('ticket.updated', { ...version(1), title: 'stale' });
    await h.handled('ticket.updated', last.seq);
    expect(await h.stores.tickets.get(id)).toMatchObject({ title: 'v2', price: 12, version: 2 });
    // Each version was applied once: one change per version, none for the repeats.
    expect(await h.stores.tickets.history(id)).toHaveLength(3);
    const order = await api().post('/api/orders').set('Cookie', signTestUser().cookie).send({ ticketId: id });
    expect(order.body.ticket).toEqual({ id, title: 'v2', price: 12 });
  });

  it('keeps a reservation through ticket.updated: the replica change does not free the ticket', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    await h.confirm(ticket, order.id);
    const other = await api()
      .post('/api/orders')
      .set('Cookie', signTestUser().cookie)
      .send({ ticketId: ticket.id });
    expect(other.status).toBe(409);
  });
});

describe('expiration.complete', () => {
  it('cancels an unpaid order with order.cancelled v1 (reason expired), once, and frees its ticket', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    await h.publish('expiration.complete', { orderId: order.id, version: 1 });
    await eventually(async () => {
      expect(await orderState(order.id)).toEqual({
        status: 'cancelled',
        version: 1,
        cancelReason: 'expired',
      });
    });
    const again = await h.publish('expiration.complete', { orderId: order.id, version: 1 });
    await settled('expiration.complete', again.seq);
    expect(await orderState(order.id)).toMatchObject({ status: 'cancelled', version: 1 });
    const events = await h.orderEvents(order.id);
    expect(eventSequence(events)).toEqual([
      ['order.created', 0],
      ['order.cancelled', 1],
    ]);
    expect(events[1]!.data).toEqual({
      id: order.id,
      version: 1,
      ticket: { id: ticket.id },
      reason: 'expired',
    });
    expect(await h.stores.reservations.get(ticket.id)).toMatchObject({ orderId: null });
    const next = await api()
      .post('/api/orders')
      .set('Cookie', signTestUser().cookie)
      .send({ ticketId: ticket.id });
    expect(next.status).toBe(201);
  });

  it('never frees the next buyer’s reservation when an old order’s expiration comes again', async () => {
    const ticket = await h.seedTicket();
    const first = await placeOrder(ticket.id);
    const expired = await h.publish('expiration.complete', { orderId: first.id, version: 1 });
    await settled('expiration.complete', expired.seq);
    const second = await placeOrder(ticket.id);
    const again = await h.publish('expiration.complete', { orderId: first.id, version: 1 });
    await settled('expiration.complete', again.seq);
    expect(await h.stores.reservations.get(ticket.id)).toMatchObject({ orderId: second.id });
    expect(await orderState(second.id)).toMatchObject({ status: 'created', version: 0 });
    const other = await api()
      .post('/api/orders')
      .set('Cookie', signTestUser().cookie)
      .send({ ticketId: ticket.id });
    expect(other.status).toBe(409);
  });

  it('dead-letters an expiration for an order this service never created', async () => {
    const orderId = objectId();
    await h.publish('expiration.complete', { orderId, version: 1 });
    const [letter] = await eventually(async () => {
      const letters = (await h.messages('DLQ', 'dlq.orders.expiration.complete')).filter(
        (message) => (message.data as { orderId: string }).orderId === orderId,
      );
      expect(letters).toHaveLength(1);
      return letters;
    });
    expect(Object.values(letter!.headers).join(' ')).toContain(`order ${orderId} does not exist`);
  });
});

describe('payment.created', () => {
  it('completes a confirmed order with order.completed v1, once; a later expiration changes nothing', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    await h.confirm(ticket, order.id);
    const paid = payment(order.id);
    await h.publish('payment.created', paid);
    await eventually(async () => {
      expect(await orderState(order.id)).toMatchObject({ status: 'complete', version: 1 });
    });
    const repeat = await h.publish('payment.created', paid);
    await settled('payment.created', repeat.seq);
    const expiry = await h.publish('expiration.complete', { orderId: order.id, version: 1 });
    await settled('expiration.complete', expiry.seq);
    expect(await orderState(order.id)).toMatchObject({ status: 'complete', version: 1 });
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

  it('waits for the tickets service to reserve the ticket for the order, then completes it', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    const ack = await h.publish('payment.created', payment(order.id));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await orderState(order.id)).toMatchObject({ status: 'created', version: 0 });
    await h.confirm(ticket, order.id);
    await settled('payment.created', ack.seq);
    expect(await orderState(order.id)).toMatchObject({ status: 'complete', version: 1 });
    // Woken by the confirmation within its wait (REPLICA_WAIT_MS=1000 here), not redelivered.
    const info = await h.running.context.bus.jsm.consumers.info('PAYMENTS', 'orders-payment-created');
    expect(info.num_redelivered).toBe(0);
  });

  it('hands a payment back when the confirmation takes longer than its wait, and completes it once it came', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    const ack = await h.publish('payment.created', payment(order.id));
    await eventually(async () => {
      const info = await h.running.context.bus.jsm.consumers.info('PAYMENTS', 'orders-payment-created');
      expect(info.num_redelivered).toBeGreaterThan(0);
    });
    expect(await orderState(order.id)).toMatchObject({ status: 'created', version: 0 });
    await h.confirm(ticket, order.id);
    await settled('payment.created', ack.seq);
    expect(await orderState(order.id)).toMatchObject({ status: 'complete', version: 1 });
  });

  it('leaves a cancelled order cancelled (payments refunds it)', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    expect((await api().delete(`/api/orders/${order.id}`).set('Cookie', order.cookie)).status).toBe(204);
    const ack = await h.publish('payment.created', payment(order.id));
    await settled('payment.created', ack.seq);
    expect(await orderState(order.id)).toEqual({
      status: 'cancelled',
      version: 1,
      cancelReason: 'buyer_cancelled',
    });
    expect(eventSequence(await h.orderEvents(order.id))).toEqual([
      ['order.created', 0],
      ['order.cancelled', 1],
    ]);
  });
});

describe('ticket.refused (the seller changed the price before the reservation)', () => {
  it('cancels the order with reason price_changed, frees the reservation, and a payment then changes nothing', async () => {
    const ticket = await h.seedTicket({ price: 10 });
    const order = await placeOrder(ticket.id);
    await h.publish('ticket.updated', { ...ticket, version: 1, price: 1000 });
    const refused = await h.publish('ticket.refused', {
      id: ticket.id,
      version: 1,
      orderId: order.id,
      reason: 'price_changed',
      price: 1000,
    });
    await settled('ticket.refused', refused.seq);
    expect(await orderState(order.id)).toEqual({
      status: 'cancelled',
      version: 1,
      cancelReason: 'price_changed',
    });
    const shown = await api().get(`/api/orders/${order.id}`).set('Cookie', order.cookie);
    expect(shown.body).toMatchObject({ status: 'cancelled', cancelReason: 'price_changed' });
    expect(await h.stores.reservations.get(ticket.id)).toMatchObject({ orderId: null });
    const ack = await h.publish('payment.created', payment(order.id));
    await settled('payment.created', ack.seq);
    expect(await orderState(order.id)).toMatchObject({ status: 'cancelled' });
    expect(eventSequence(await h.orderEvents(order.id))).toEqual([
      ['order.created', 0],
      ['order.cancelled', 1],
    ]);
    // A new order is placed at the new price.
    const next = await placeOrder(ticket.id);
    expect((await h.stores.orders.get(next.id))?.ticket).toMatchObject({ price: 1000, version: 1 });
  });

  it('in either delivery order with the payment: the order ends cancelled, never completed', async () => {
    for (const paymentFirst of [true, false]) {
      const ticket = await h.seedTicket({ price: 10 });
      const order = await placeOrder(ticket.id);
      const refuse = () =>
        h.publish('ticket.refused', {
          id: ticket.id,
          version: 1,
          orderId: order.id,
          reason: 'price_changed',
          price: 99,
        });
      const pay = () => h.publish('payment.created', payment(order.id));
      const [a, b] = paymentFirst ? [await pay(), await refuse()] : [await refuse(), await pay()];
      await h.handled(paymentFirst ? 'payment.created' : 'ticket.refused', a.seq);
      await h.handled(paymentFirst ? 'ticket.refused' : 'payment.created', b.seq);
      await h.outboxesDrained();
      expect(await orderState(order.id)).toMatchObject({
        status: 'cancelled',
        cancelReason: 'price_changed',
      });
    }
  });
});

describe('cancel versus pay', () => {
  it('lets the first of 10 concurrent settlements decide: one v1 event', async () => {
    const ticket = await h.seedTicket();
    const order = await placeOrder(ticket.id);
    await h.confirm(ticket, order.id);
    const acks = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? h.publish('payment.created', payment(order.id))
          : h.publish('expiration.complete', { orderId: order.id, version: 1 }),
      ),
    );
    for (const ack of acks) {
      await h.handled(ack.stream === 'PAYMENTS' ? 'payment.created' : 'expiration.complete', ack.seq);
    }
    await h.outboxesDrained();
    const final = (await h.stores.orders.get(order.id))!;
    expect(['cancelled', 'complete']).toContain(final.status);
    expect(final.version).toBe(1);
    expect(await h.stores.reservations.get(ticket.id)).toMatchObject({
      orderId: final.status === 'cancelled' ? null : order.id,
    });
    expect(eventSequence(await h.orderEvents(order.id))).toEqual([
      ['order.created', 0],
      [final.status === 'cancelled' ? 'order.cancelled' : 'order.completed', 1],
    ]);
    const letters = await readStream({ servers: h.nats.url, stream: 'DLQ', filter: 'dlq.orders.>' });
    expect(letters.filter((letter) => JSON.stringify(letter.data).includes(order.id))).toEqual([]);
  });
});
