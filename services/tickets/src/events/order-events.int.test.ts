import { eventually, objectId, readStream, signTestUser } from '@ticketing/testing';
import request from 'supertest';
import {
  createTicket,
  expectTicketEvents,
  type Harness,
  listenerOutcomes,
  orderCreated,
  orderFollowUp,
  publishOrderEvent,
  startHarness,
  stopHarness,
  ticketEvents,
  unpublishedChanges,
  waitUntilSettled,
} from '../test-support/harness';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await stopHarness(harness);
});

async function stored(ticketId: string) {
  return harness.stored(ticketId);
}

/**
 * Asserts that the ticket has exactly `versions` versions, in its state, its change documents (none left
 * unpublished) and on the stream. Pending changes are read before the stream, so an event a handler wrote is
 * seen in one place or the other.
 */
async function expectVersions(ticketId: string, state: object, versions: number): Promise<void> {
  expect(await unpublishedChanges(harness, ticketId)).toBe(0);
  expect(await harness.store.history(ticketId)).toHaveLength(versions);
  expect(await stored(ticketId)).toMatchObject({ ...state, version: versions - 1 });
  expect(await ticketEvents(harness, ticketId)).toHaveLength(versions);
}

describe('order.created', () => {
  it('reserves the ticket for the order: version 1, ticket.updated v1 with orderId on the stream', async () => {
    const owner = signTestUser();
    const ticketId = await createTicket(harness, owner, { title: 'Gig', price: '45.5' });
    const order = orderCreated(ticketId, undefined, 45.5);
    await publishOrderEvent(harness, 'order.created', order);
    const events = await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
    ]);
    expect(events[1]!.data).toEqual({
      id: ticketId,
      version: 1,
      title: 'Gig',
      price: 45.5,
      userId: owner.user.id,
      orderId: order.id,
    });
    expect(await stored(ticketId)).toMatchObject({
      orderId: order.id,
      version: 1,
    });
    const shown = await request(harness.running.app).get(`/api/tickets/${ticketId}`);
    expect(shown.body).toMatchObject({ orderId: order.id, version: 1 });
  });

  it('changes nothing and publishes nothing when the same order.created is delivered again', async () => {
    const ticketId = await createTicket(harness);
    const order = orderCreated(ticketId);
    await publishOrderEvent(harness, 'order.created', order);
    await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
    ]);
    const before = await listenerOutcomes(harness, 'order.created', 'acked');
    // Re-published under a new event id, so JetStream's duplicate window does not hide it: the handler sees it.
    const seq = await publishOrderEvent(harness, 'order.created', order);
    await waitUntilSettled(harness, 'order.created', seq);
    expect(await listenerOutcomes(harness, 'order.created', 'acked')).toBe(before + 1);
    await expectVersions(ticketId, { orderId: order.id }, 2);
  });

  it('holds back the next order of a ticket until the previous holder’s release is applied (cancel and re-order race)', async () => {
    const ticketId = await createTicket(harness);
    const first = orderCreated(ticketId);
    await publishOrderEvent(harness, 'order.created', first);
    await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
    ]);
    // In orders, `first` was cancelled and `second` took the ticket; here `second` arrives before that cancel.
    const second = orderCreated(ticketId);
    const deferredBefore = await listenerOutcomes(harness, 'order.created', 'deferred');
    await publishOrderEvent(harness, 'order.created', second);
    await eventually(async () => {
      expect(await listenerOutcomes(harness, 'order.created', 'deferred')).toBeGreaterThan(deferredBefore);
    });
    expect(await stored(ticketId)).toMatchObject({ orderId: first.id, version: 1 });
    await publishOrderEvent(harness, 'order.cancelled', orderFollowUp(ticketId, first.id, 1));
    const events = await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
      ['ticket.updated', 2],
      ['ticket.updated', 3],
    ]);
    expect(events.map((event) => event.data.orderId)).toEqual([undefined, first.id, undefined, second.id]);
    await eventually(() => expectVersions(ticketId, { orderId: second.id }, 4));
  });

  it('dead-letters an order.created for a ticket that does not exist, and keeps going', async () => {
    const missing = objectId();
    const seq = await publishOrderEvent(harness, 'order.created', orderCreated(missing));
    await waitUntilSettled(harness, 'order.created', seq);
    const dead = await eventually(async () => {
      const letters = await readStream({
        servers: harness.nats.url,
        stream: 'DLQ',
        filter: 'dlq.tickets.order.created',
      });
      const mine = letters.filter((m) => (m.data as { ticket: { id: string } }).ticket.id === missing);
      expect(mine).toHaveLength(1);
      return mine[0]!;
    });
    expect(Object.values(dead.headers).join(' ')).toContain(`ticket ${missing} does not exist`);
    // The listener is still working.
    const ticketId = await createTicket(harness);
    await publishOrderEvent(harness, 'order.created', orderCreated(ticketId));
    await eventually(async () => expect((await stored(ticketId))?.orderId).toBeDefined());
  });
});

describe('order.cancelled', () => {
  it('releases the ticket: version 2, ticket.updated v2 without orderId; a repeat changes nothing', async () => {
    const owner = signTestUser();
    const ticketId = await createTicket(harness, owner, { title: 'Play', price: 12 });
    const order = orderCreated(ticketId, undefined, 12);
    await publishOrderEvent(harness, 'order.created', order);
    await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
    ]);
    await publishOrderEvent(harness, 'order.cancelled', orderFollowUp(ticketId, order.id, 1));
    const events = await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
      ['ticket.updated', 2],
    ]);
    expect(events[2]!.data).toEqual({
      id: ticketId,
      version: 2,
      title: 'Play',
      price: 12,
      userId: owner.user.id,
    });
    expect(await stored(ticketId)).toMatchObject({
      orderId: null,
      version: 2,
    });
    // Back on sale, and editable by its owner again.
    const list = await request(harness.running.app).get('/api/tickets');
    expect((list.body as Array<{ id: string }>).map((t) => t.id)).toContain(ticketId);

    const seq = await publishOrderEvent(harness, 'order.cancelled', orderFollowUp(ticketId, order.id, 1));
    await waitUntilSettled(harness, 'order.cancelled', seq);
    await expectVersions(ticketId, { orderId: null }, 3);
    await request(harness.running.app)
      .put(`/api/tickets/${ticketId}`)
      .set('Cookie', owner.cookie)
      .send({ title: 'Play (matinee)', price: 10 })
      .expect(200);
  });

  it('is applied in the order’s version order: cancelled v1 delivered before created v0 ends unreserved', async () => {
    const ticketId = await createTicket(harness);
    await expectTicketEvents(harness, ticketId, [['ticket.created', 0]]);
    const order = orderCreated(ticketId);
    const deferredBefore = await listenerOutcomes(harness, 'order.cancelled', 'deferred');

    await publishOrderEvent(harness, 'order.cancelled', orderFollowUp(ticketId, order.id, 1));
    // The cancellation really arrived first and was held back, not applied to a ticket it did not hold.
    await eventually(async () => {
      expect(await listenerOutcomes(harness, 'order.cancelled', 'deferred')).toBeGreaterThan(deferredBefore);
    });
    expect(await stored(ticketId)).toMatchObject({ version: 0 });

    await publishOrderEvent(harness, 'order.created', order);
    const events = await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
      ['ticket.updated', 2],
    ]);
    expect(events[1]!.data.orderId).toBe(order.id);
    expect(events[2]!.data.orderId).toBeUndefined();
    await eventually(async () => {
      expect(await stored(ticketId)).toMatchObject({
        orderId: null,
        version: 2,
      });
    });
  });
});

describe('order.completed', () => {
  it('keeps the ticket reserved by the order for good: sold, never released or edited again', async () => {
    const owner = signTestUser();
    const ticketId = await createTicket(harness, owner);
    const order = orderCreated(ticketId);
    await publishOrderEvent(harness, 'order.created', order);
    await publishOrderEvent(harness, 'order.completed', orderFollowUp(ticketId, order.id, 1));
    const events = await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
      ['ticket.updated', 2],
    ]);
    expect(events[2]!.data.orderId).toBe(order.id);
    await eventually(() => expectVersions(ticketId, { orderId: order.id, sold: true }, 3));

    // A (contract-breaking) later cancellation of the completed order does not put a sold ticket back on sale.
    await publishOrderEvent(harness, 'order.cancelled', orderFollowUp(ticketId, order.id, 2));
    const after = await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
      ['ticket.updated', 2],
      ['ticket.updated', 3],
    ]);
    expect(after[3]!.data.orderId).toBe(order.id);
    await eventually(() => expectVersions(ticketId, { orderId: order.id, sold: true }, 4));
    await request(harness.running.app)
      .put(`/api/tickets/${ticketId}`)
      .set('Cookie', owner.cookie)
      .send({ title: 'Resold', price: 1 })
      .expect(409);
    const list = await request(harness.running.app).get('/api/tickets');
    expect((list.body as Array<{ id: string }>).map((t) => t.id)).not.toContain(ticketId);
  });

  it('arriving before order.created is held back, then applied after it', async () => {
    const ticketId = await createTicket(harness);
    const order = orderCreated(ticketId);
    const deferredBefore = await listenerOutcomes(harness, 'order.completed', 'deferred');
    await publishOrderEvent(harness, 'order.completed', orderFollowUp(ticketId, order.id, 1));
    await eventually(async () => {
      expect(await listenerOutcomes(harness, 'order.completed', 'deferred')).toBeGreaterThan(deferredBefore);
    });
    expect(await stored(ticketId)).toMatchObject({ orderId: null, version: 0 });
    await publishOrderEvent(harness, 'order.created', order);
    await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
      ['ticket.updated', 2],
    ]);
    await eventually(() => expectVersions(ticketId, { orderId: order.id, sold: true }, 3));
  });
});

describe('listeners and HTTP updates together', () => {
  it('an owner update racing a reservation: the stream versions stay a gap-free sequence', async () => {
    const owner = signTestUser();
    const ticketId = await createTicket(harness, owner);
    await expectTicketEvents(harness, ticketId, [['ticket.created', 0]]);
    const order = orderCreated(ticketId);
    const [update] = await Promise.all([
      request(harness.running.app)
        .put(`/api/tickets/${ticketId}`)
        .set('Cookie', owner.cookie)
        .send({ title: 'Raced', price: 20 }),
      publishOrderEvent(harness, 'order.created', order),
    ]);
    expect([200, 409]).toContain(update.status);
    const expected: Array<['ticket.created' | 'ticket.updated', number]> = [
      ['ticket.created', 0],
      ['ticket.updated', 1],
    ];
    if (update.status === 200) expected.push(['ticket.updated', 2]);
    const events = await expectTicketEvents(harness, ticketId, expected);
    // Whichever came first, the reservation is in the last event and in the document.
    expect(events.at(-1)!.data.orderId).toBe(order.id);
    await eventually(async () => {
      expect(await stored(ticketId)).toMatchObject({ orderId: order.id, version: expected.length - 1 });
    });
  });
});

describe('price authority: an order is reserved only at the ticket’s price', () => {
  it('a price change before the order arrives: the order is refused (ticket.refused), the ticket stays on sale', async () => {
    const owner = signTestUser();
    const ticketId = await createTicket(harness, owner, { title: 'Gig', price: 10 });
    // The seller raises the price; the orders replica still had 10 when the buyer ordered.
    await request(harness.running.app)
      .put(`/api/tickets/${ticketId}`)
      .set('Cookie', owner.cookie)
      .send({ title: 'Gig', price: 1000 })
      .expect(200);
    const order = orderCreated(ticketId, undefined, 10);
    await publishOrderEvent(harness, 'order.created', order);
    const events = await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
      ['ticket.updated', 2],
      ['ticket.refused', 2],
    ]);
    expect(events[3]!.data).toEqual({
      id: ticketId,
      version: 2,
      orderId: order.id,
      reason: 'price_changed',
      price: 1000,
    });
    expect(events[2]!.data.orderId).toBeUndefined();
    expect(await stored(ticketId)).toMatchObject({ orderId: null, priceCents: 100_000, version: 2 });
    // The order's cancellation (orders cancels it on ticket.refused) is applied without waiting, and changes nothing.
    const seq = await publishOrderEvent(harness, 'order.cancelled', orderFollowUp(ticketId, order.id, 1));
    await waitUntilSettled(harness, 'order.cancelled', seq);
    await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
      ['ticket.updated', 2],
      ['ticket.refused', 2],
      ['ticket.updated', 3],
    ]);
    expect(await stored(ticketId)).toMatchObject({ orderId: null, version: 3 });
    // A buyer at the new price gets it.
    const next = orderCreated(ticketId, undefined, 1000);
    await publishOrderEvent(harness, 'order.created', next);
    await eventually(async () => expect((await stored(ticketId))?.orderId).toBe(next.id));
  });

  it('a price change after the order arrived: the seller gets 409 and the order keeps the price it agreed', async () => {
    const owner = signTestUser();
    const ticketId = await createTicket(harness, owner, { title: 'Gig', price: 10 });
    const order = orderCreated(ticketId, undefined, 10);
    await publishOrderEvent(harness, 'order.created', order);
    await eventually(async () => expect((await stored(ticketId))?.orderId).toBe(order.id));
    const res = await request(harness.running.app)
      .put(`/api/tickets/${ticketId}`)
      .set('Cookie', owner.cookie)
      .send({ title: 'Gig', price: 1000 });
    expect(res.status).toBe(409);
    expect(await stored(ticketId)).toMatchObject({ priceCents: 1000, orderId: order.id });
  });

  it('a price change racing the order, many times: every round ends reserved at the new price’s order, or refused', async () => {
    for (let round = 0; round < 10; round++) {
      const owner = signTestUser();
      const ticketId = await createTicket(harness, owner, { title: 'Race', price: 10 });
      const order = orderCreated(ticketId, undefined, 10);
      const [update] = await Promise.all([
        request(harness.running.app)
          .put(`/api/tickets/${ticketId}`)
          .set('Cookie', owner.cookie)
          .send({ title: 'Race', price: 1000 }),
        publishOrderEvent(harness, 'order.created', order),
      ]);
      const events = await eventually(async () => {
        const found = await ticketEvents(harness, ticketId);
        expect(found.some((e) => e.subject === 'ticket.refused' || e.data.orderId === order.id)).toBe(true);
        return found;
      });
      const final = (await stored(ticketId))!;
      if (update.status === 200) {
        // The new price came first: the order placed at 10 is refused, nothing reserved at a replaced price.
        expect(final).toMatchObject({ priceCents: 100_000, orderId: null });
        expect(events.filter((e) => e.subject === 'ticket.refused')).toHaveLength(1);
      } else {
        // The reservation came first: the price stays what the order agreed to.
        expect(update.status).toBe(409);
        expect(final).toMatchObject({ priceCents: 1000, orderId: order.id });
        expect(events.some((e) => e.subject === 'ticket.refused')).toBe(false);
      }
    }
  });
});
