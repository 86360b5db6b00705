import { AggregateExistsError, errorBodySchema, jsonSchema } from '@ticketing/common';
import {
  eventually,
  leaveCrashedChange,
  objectId,
  operationSummary,
  readStream,
  responseSchema,
  servedOpenApiPaths,
  signTestUser,
} from '@ticketing/testing';
import request from 'supertest';
import { CLAIM_GRACE_MS } from '../app';
import type { OrderState } from '../domain/order';
import { eventSequence, type OrdersHarness, startOrdersHarness } from '../test-support/harness';

let h: OrdersHarness;

beforeAll(async () => {
  h = await startOrdersHarness({
    ORDER_EXPIRATION_SECONDS: '60',
    REORDER_COOLDOWN_SECONDS: '0',
    REPLICA_WAIT_MS: '300',
  });
});

afterAll(async () => {
  await h?.stop();
});

function api() {
  return request(h.running.app);
}

async function placeOrder(cookie: string, ticketId: string) {
  return api().post('/api/orders').set('Cookie', cookie).send({ ticketId });
}

describe('POST /api/orders', () => {
  it('reserves a known ticket: 201 with the order, expiry from ORDER_EXPIRATION_SECONDS, order.created v0', async () => {
    const ticket = await h.seedTicket({ title: 'Opera', price: 42.5 });
    const buyer = signTestUser();
    const before = Date.now();
    const res = await placeOrder(buyer.cookie, ticket.id);

    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[a-f0-9]{24}$/),
      userId: buyer.user.id,
      status: 'created',
      expiresAt: expect.any(String),
      version: 0,
      ticket: { id: ticket.id, title: 'Opera', price: 42.5 },
    });
    const expiresAt = Date.parse(res.body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);

    const [created] = await eventually(async () => {
      const events = await h.orderEvents(res.body.id);
      expect(events).toHaveLength(1);
      return events;
    });
    expect(created!.subject).toBe('order.created');
    expect(created!.data).toEqual({
      id: res.body.id,
      version: 0,
      userId: buyer.user.id,
      status: 'created',
      expiresAt: res.body.expiresAt,
      ticket: { id: ticket.id, price: 42.5, version: 0 },
    });
  });

  it('answers bad input with 400 naming ticketId, never 5xx', async () => {
    const buyer = signTestUser();
    const badBodies: unknown[] = [
      {},
      { ticketId: 'abc' },
      { ticketId: 123 },
      { ticketId: null },
      { ticketId: { $ne: null } },
      { ticketId: { $gt: '' } },
      { ticketId: [objectId()] },
    ];
    for (const body of badBodies) {
      const res = await api()
        .post('/api/orders')
        .set('Cookie', buyer.cookie)
        .send(body as object);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'ticketId' })]);
    }
    const notAnObject = await api()
      .post('/api/orders')
      .set('Cookie', buyer.cookie)
      .send([{ ticketId: objectId() }]);
    expect(notAnObject.status).toBe(400);

    const malformed = await api()
      .post('/api/orders')
      .set('Cookie', buyer.cookie)
      .set('Content-Type', 'application/json')
      .send('{"ticketId": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ errors: [{ message: 'Malformed JSON body' }] });
  });

  it('answers 404 for a ticket the replica does not know', async () => {
    const res = await placeOrder(signTestUser().cookie, objectId());
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ errors: [{ message: 'Ticket not found' }] });
  });

  it('answers 401 without a valid token, whatever the body', async () => {
    const ticket = await h.seedTicket();
    expect((await api().post('/api/orders').send({ ticketId: ticket.id })).status).toBe(401);
    expect(
      (
        await api()
          .post('/api/orders')
          .send({ ticketId: { $ne: null } })
      ).status,
    ).toBe(401);
    const forged = signTestUser({}, { jwtKey: 'another-key-entirely' });
    expect((await placeOrder(forged.cookie, ticket.id)).status).toBe(401);
    // Validly signed, but with a user id auth never issues: order.created could not name that buyer.
    const alien = signTestUser({ id: 'user-42' });
    expect((await placeOrder(alien.cookie, ticket.id)).status).toBe(401);
    expect(await h.stores.orders.find({ 'ticket.id': ticket.id })).toHaveLength(0);
  });

  it('lets exactly one of 30 concurrent buyers reserve a ticket; the others get 409', async () => {
    const ticket = await h.seedTicket();
    const buyers = Array.from({ length: 30 }, () => signTestUser());
    const responses = await Promise.all(
      buyers.map((buyer) =>
        api().post('/api/orders').set('Authorization', buyer.bearer).send({ ticketId: ticket.id }),
      ),
    );

    const statuses = responses.map((res) => res.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(29);
    const winner = responses.find((res) => res.status === 201)!;
    const orders = await h.stores.orders.find({ 'ticket.id': ticket.id });
    expect(orders.map((order) => order._id)).toEqual([winner.body.id]);
    // One claim was written, by the winner; the 29 others lost the insert of that version.
    expect(await h.stores.reservations.get(ticket.id)).toMatchObject({ orderId: winner.body.id, version: 0 });
    expect(await h.stores.reservations.history(ticket.id)).toHaveLength(1);

    await h.outboxesDrained();
    const created = (
      await readStream({ servers: h.nats.url, stream: 'ORDERS', filter: 'order.created' })
    ).filter((message) => (message.data as { ticket: { id: string } }).ticket.id === ticket.id);
    expect(created.map((message) => (message.data as { id: string }).id)).toEqual([winner.body.id]);
  });
});

describe('GET /api/orders and /api/orders/:id', () => {
  it('lists only the signed-in user’s orders, oldest first, with the ticket embedded', async () => {
    const [first, second, othersTicket] = await Promise.all([
      h.seedTicket({ title: 'First', price: 10 }),
      h.seedTicket({ title: 'Second', price: 12.25 }),
      h.seedTicket(),
    ]);
    const buyer = signTestUser();
    const a = await placeOrder(buyer.cookie, first.id);
    const b = await placeOrder(buyer.cookie, second.id);
    expect((await placeOrder(signTestUser().cookie, othersTicket.id)).status).toBe(201);

    const res = await api().get('/api/orders').set('Authorization', buyer.bearer);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([a.body, b.body]);
    expect(res.body.map((order: { ticket: unknown }) => order.ticket)).toEqual([
      { id: first.id, title: 'First', price: 10 },
      { id: second.id, title: 'Second', price: 12.25 },
    ]);
    expect((await api().get('/api/orders')).status).toBe(401);
  });

  it('shows my order (200), refuses someone else’s (403), and answers 404 for unknown or malformed ids', async () => {
    const ticket = await h.seedTicket();
    const owner = signTestUser();
    const placed = await placeOrder(owner.cookie, ticket.id);

    const mine = await api().get(`/api/orders/${placed.body.id}`).set('Cookie', owner.cookie);
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual(placed.body);
    const others = await api().get(`/api/orders/${placed.body.id}`).set('Cookie', signTestUser().cookie);
    expect(others.status).toBe(403);
    expect((await api().get(`/api/orders/${objectId()}`).set('Cookie', owner.cookie)).status).toBe(404);
    for (const malformed of ['abc', 'zzzzzzzzzzzzzzzzzzzzzzzz', `${placed.body.id}0`]) {
      expect((await api().get(`/api/orders/${malformed}`).set('Cookie', owner.cookie)).status).toBe(404);
    }
    expect((await api().get(`/api/orders/${placed.body.id}`)).status).toBe(401);
  });
});

describe('DELETE /api/orders/:id', () => {
  it('cancels (204, order.cancelled v1), frees the ticket, and a second DELETE is 204 with no second event', async () => {
    const ticket = await h.seedTicket();
    const owner = signTestUser();
    const placed = await placeOrder(owner.cookie, ticket.id);
    expect((await placeOrder(signTestUser().cookie, ticket.id)).status).toBe(409);

    expect((await api().delete(`/api/orders/${placed.body.id}`).set('Cookie', owner.cookie)).status).toBe(
      204,
    );
    // Released by the cancellation itself, not left for the next buyer to clean up.
    expect(await h.stores.reservations.get(ticket.id)).toMatchObject({ orderId: null, version: 1 });
    const shown = await api().get(`/api/orders/${placed.body.id}`).set('Cookie', owner.cookie);
    expect(shown.body).toMatchObject({ status: 'cancelled', version: 1 });
    expect((await api().delete(`/api/orders/${placed.body.id}`).set('Cookie', owner.cookie)).status).toBe(
      204,
    );

    const again = await placeOrder(signTestUser().cookie, ticket.id);
    expect(again.status).toBe(201);
    await h.outboxesDrained();
    expect(eventSequence(await h.orderEvents(placed.body.id))).toEqual([
      ['order.created', 0],
      ['order.cancelled', 1],
    ]);
    expect((await h.orderEvents(placed.body.id))[1]!.data).toEqual({
      id: placed.body.id,
      version: 1,
      ticket: { id: ticket.id },
      reason: 'buyer_cancelled',
    });
  });

  it('refuses someone else’s order (403), unknown or malformed ids (404), no token (401), a completed order (409)', async () => {
    const ticket = await h.seedTicket();
    const owner = signTestUser();
    const placed = await placeOrder(owner.cookie, ticket.id);
    const url = `/api/orders/${placed.body.id}`;

    expect((await api().delete(url).set('Cookie', signTestUser().cookie)).status).toBe(403);
    expect((await api().delete(`/api/orders/${objectId()}`).set('Cookie', owner.cookie)).status).toBe(404);
    expect((await api().delete('/api/orders/not-an-id').set('Cookie', owner.cookie)).status).toBe(404);
    expect((await api().delete(url)).status).toBe(401);
    expect((await api().get(url).set('Cookie', owner.cookie)).body.status).toBe('created');

    await h.confirm(ticket, placed.body.id);
    await h.running.context.bus.publish('payment.created', {
      id: objectId(),
      version: 0,
      orderId: placed.body.id,
      chargeId: 'ch_test',
    });
    await eventually(async () => {
      expect((await api().get(url).set('Cookie', owner.cookie)).body.status).toBe('complete');
    });
    const refused = await api().delete(url).set('Cookie', owner.cookie);
    expect(refused.status).toBe(409);
    expect((await api().get(url).set('Cookie', owner.cookie)).body).toMatchObject({
      status: 'complete',
      version: 1,
    });
  });

  it('settles a DELETE racing a payment one way only: one v1 event, matching status and answer', async () => {
    const ticket = await h.seedTicket();
    const owner = signTestUser();
    const placed = await placeOrder(owner.cookie, ticket.id);
    await h.confirm(ticket, placed.body.id);
    await h.outboxesDrained();

    const [deleted] = await Promise.all([
      api().delete(`/api/orders/${placed.body.id}`).set('Cookie', owner.cookie),
      h.running.context.bus.publish('payment.created', {
        id: objectId(),
        version: 0,
        orderId: placed.body.id,
        chargeId: 'ch_race',
      }),
    ]);
    await eventually(async () => {
      expect(await h.stores.orders.get(placed.body.id)).toMatchObject({ version: 1 });
    });
    await h.outboxesDrained();
    // The payment may still be in the listener; its ack means it has had its say.
    const info = await h.running.context.bus.jsm.streams.info('PAYMENTS');
    await h.handled('payment.created', info.state.last_seq);
    await h.outboxesDrained();

    const order = await h.stores.orders.get(placed.body.id);
    const events = eventSequence(await h.orderEvents(placed.body.id));
    if (deleted.status === 204) {
      expect(order!.status).toBe('cancelled');
      expect(events).toEqual([
        ['order.created', 0],
        ['order.cancelled', 1],
      ]);
    } else {
      expect(deleted.status).toBe(409);
      expect(order!.status).toBe('complete');
      expect(events).toEqual([
        ['order.created', 0],
        ['order.completed', 1],
      ]);
    }
  });
});

describe('crash windows heal', () => {
  /** The order's state with a final status, as its version 1 holds it. */
  async function cancelledState(orderId: string): Promise<OrderState> {
    const { _id, version, ...order } = (await h.stores.orders.get(orderId))!;
    return { ...order, status: 'cancelled', cancelReason: 'buyer_cancelled' };
  }

  function cancelledEvent(orderId: string, ticketId: string) {
    return {
      id: objectId(),
      subject: 'order.cancelled',
      data: { id: orderId, version: 1, ticket: { id: ticketId }, reason: 'buyer_cancelled' },
      correlationId: 'crash-test',
      occurredAt: new Date(),
    };
  }

  it('takes over a claim whose placement died, once it is older than the grace period, and voids that order id', async () => {
    const ticket = await h.seedTicket();
    const deadOrderId = objectId();
    // The state a placement leaves when it dies between its claim and its order.
    await leaveCrashedChange(
      h.stores.reservations,
      ticket.id,
      0,
      { orderId: deadOrderId, claimedAt: Date.now() - CLAIM_GRACE_MS - 1000, cooldowns: {} },
      { ageMs: CLAIM_GRACE_MS + 1000, head: true },
    );

    const res = await placeOrder(signTestUser().cookie, ticket.id);
    expect(res.status).toBe(201);
    expect(await h.stores.reservations.get(ticket.id)).toMatchObject({ orderId: res.body.id, version: 1 });
    // Had it only been slow, its order now fails instead of making a second holder.
    await expect(
      h.stores.orders.create(deadOrderId, {
        userId: objectId(),
        status: 'created',
        expiresAt: new Date(),
        ticket: { id: ticket.id, title: 'x', price: 1 },
      }),
    ).rejects.toBeInstanceOf(AggregateExistsError);
    const owner = signTestUser();
    expect((await api().get(`/api/orders/${deadOrderId}`).set('Cookie', owner.cookie)).status).toBe(404);
    expect((await api().get('/api/orders').set('Cookie', owner.cookie)).body).toEqual([]);
    expect((await placeOrder(signTestUser().cookie, ticket.id)).status).toBe(409);
  });

  it('keeps honouring a fresh claim whose order is not written yet (a placement in progress)', async () => {
    const ticket = await h.seedTicket();
    const placingOrderId = objectId();
    await h.stores.reservations.create(ticket.id, {
      orderId: placingOrderId,
      claimedAt: Date.now(),
      cooldowns: {},
    });
    expect((await placeOrder(signTestUser().cookie, ticket.id)).status).toBe(409);
    // Its order id is left alone: the placement in progress can still complete.
    expect(await h.stores.orders.history(placingOrderId)).toHaveLength(0);
  });

  it('finishes a cancellation that died between its version 1 and the order’s head, with NATS out of reach', async () => {
    const ticket = await h.seedTicket();
    const placed = await placeOrder(signTestUser().cookie, ticket.id);
    await h.outboxesDrained();
    await h.nats.stop();
    try {
      await leaveCrashedChange(h.stores.orders, placed.body.id, 1, await cancelledState(placed.body.id), {
        ageMs: 10_000,
        head: false,
        events: [cancelledEvent(placed.body.id, ticket.id)],
        relays: h.running.context.connection.db!.collection('outbox_writers'),
      });
      expect(await h.stores.orders.get(placed.body.id)).toMatchObject({ status: 'created', version: 0 });
      // The live relay recovers the dead one's change: the head first, so the order shows cancelled while NATS
      // is still down.
      await eventually(
        async () =>
          expect(await h.stores.orders.get(placed.body.id)).toMatchObject({
            status: 'cancelled',
            version: 1,
          }),
        { timeoutMs: 20_000 },
      );
    } finally {
      await h.nats.restart();
    }
    expect((await placeOrder(signTestUser().cookie, ticket.id)).status).toBe(201);
    await h.outboxesDrained();
    expect(eventSequence(await h.orderEvents(placed.body.id))).toEqual([
      ['order.created', 0],
      ['order.cancelled', 1],
    ]);
  });

  it('frees a ticket whose cancelled order died before releasing it', async () => {
    const ticket = await h.seedTicket();
    const placed = await placeOrder(signTestUser().cookie, ticket.id);
    // The state a cancellation leaves when it dies after writing the order, before the release.
    await h.stores.orders.decide(placed.body.id, (order) => ({ state: { ...order!, status: 'cancelled' } }));
    expect(await h.stores.reservations.get(ticket.id)).toMatchObject({ orderId: placed.body.id });

    const next = await placeOrder(signTestUser().cookie, ticket.id);
    expect(next.status).toBe(201);
    expect(await h.stores.reservations.get(ticket.id)).toMatchObject({ orderId: next.body.id, version: 1 });
  });
});

describe('the rules of a fair sale', () => {
  it('refuses a seller their own ticket (403)', async () => {
    const seller = signTestUser();
    const ticket = await h.seedTicket({ userId: seller.user.id });
    const res = await placeOrder(seller.cookie, ticket.id);
    expect(res.status).toBe(403);
    expect(res.body.errors[0].message).toMatch(/own ticket/);
  });

  it('lets a buyer hold at most MAX_LIVE_ORDERS_PER_USER unpaid orders, also when they place them at once', async () => {
    const tickets = await Promise.all(Array.from({ length: 8 }, () => h.seedTicket()));
    const buyer = signTestUser();
    const answers = await Promise.all(tickets.map((ticket) => placeOrder(buyer.cookie, ticket.id)));
    expect(answers.filter((res) => res.status === 201)).toHaveLength(5);
    const refused = answers.filter((res) => res.status === 409);
    expect(refused).toHaveLength(3);
    expect(refused[0]!.body.errors[0].message).toMatch(/5 unpaid orders/);
    // No ticket is left held by a refused placement.
    const held = await Promise.all(tickets.map((ticket) => h.stores.reservations.get(ticket.id)));
    expect(held.filter((reservation) => reservation?.orderId)).toHaveLength(5);
    // Cancelling one makes room for one more.
    const placed = answers.find((res) => res.status === 201)!;
    expect((await api().delete(`/api/orders/${placed.body.id}`).set('Cookie', buyer.cookie)).status).toBe(
      204,
    );
    const free = tickets.find((_, i) => answers[i]!.status === 409)!;
    expect((await placeOrder(buyer.cookie, free.id)).status).toBe(201);
    expect((await placeOrder(buyer.cookie, (await h.seedTicket()).id)).status).toBe(409);
  });
});

describe('read-your-writes', () => {
  it('orders a ticket the replica learns of while the request waits, and answers 404 only after the wait', async () => {
    const ticket = { id: objectId(), version: 0, title: 'Just listed', price: 5, userId: objectId() };
    const buyer = signTestUser();
    const ordering = placeOrder(buyer.cookie, ticket.id);
    setTimeout(() => void h.publish('ticket.created', ticket), 100);
    expect((await ordering).status).toBe(201);
    const started = Date.now();
    expect((await placeOrder(buyer.cookie, objectId())).status).toBe(404);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250); // REPLICA_WAIT_MS=300 in this file
  });

  it('GET /api/orders/:id?waitFor=complete answers when the order completes, not before', async () => {
    const ticket = await h.seedTicket();
    const buyer = signTestUser();
    const placed = await placeOrder(buyer.cookie, ticket.id);
    await h.confirm(ticket, placed.body.id);
    let answered = false;
    const waiting = api()
      .get(`/api/orders/${placed.body.id}?waitFor=complete&timeout=10`)
      .set('Cookie', buyer.cookie)
      .then((res) => {
        answered = true;
        return res;
      });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answered).toBe(false);
    await h.publish('payment.created', {
      id: objectId(),
      version: 0,
      orderId: placed.body.id,
      chargeId: 'ch_wait',
    });
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'complete', version: 1 });
    const quick = await api()
      .get(`/api/orders/${placed.body.id}?waitFor=complete&timeout=0`)
      .set('Cookie', buyer.cookie);
    expect(quick.body.status).toBe('complete');
    const bad = await api().get(`/api/orders/${placed.body.id}?timeout=99`).set('Cookie', buyer.cookie);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('timeout');
  });
});

describe('GET /api/orders pages', () => {
  it('pages the caller’s orders oldest first with a Link to the next page', async () => {
    const buyer = signTestUser();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await placeOrder(buyer.cookie, (await h.seedTicket()).id)).body.id);
    const first = await api().get('/api/orders?limit=2').set('Cookie', buyer.cookie);
    expect(first.body.map((o: { id: string }) => o.id)).toEqual(ids.slice(0, 2));
    expect(first.headers.link).toBe(`</api/orders?limit=2&after=${ids[1]}>; rel="next"`);
    const second = await api().get(`/api/orders?limit=2&after=${ids[1]}`).set('Cookie', buyer.cookie);
    expect(second.body.map((o: { id: string }) => o.id)).toEqual(ids.slice(2));
    expect(second.headers.link).toBeUndefined();
  });
});

describe('GET /openapi.json', () => {
  it('documents every operation: operationId, request body schema, answers and their schemas', async () => {
    expect(h.running.context.config.API_VALIDATE_RESPONSES).toBe(true);
    const paths = await servedOpenApiPaths(h.running.app, 'orders API');
    expect(operationSummary(paths)).toEqual({
      'POST /api/orders': {
        operationId: 'createOrder',
        statuses: ['201', '400', '401', '403', '404', '409', '413', '415', '500'],
      },
      'GET /api/orders': { operationId: 'listOrders', statuses: ['200', '400', '401', '500'] },
      'GET /api/orders/{id}': {
        operationId: 'showOrder',
        statuses: ['200', '400', '401', '403', '404', '500'],
      },
      'DELETE /api/orders/{id}': {
        operationId: 'cancelOrder',
        statuses: ['204', '400', '401', '403', '404', '409', '500'],
      },
    });

    const create = paths['/api/orders']!.post!;
    const cancel = paths['/api/orders/{id}']!.delete!;
    expect(create.requestBody!.content['application/json'].schema).toMatchObject({
      type: 'object',
      properties: { ticketId: { type: 'string', pattern: '^[a-f0-9]{24}$' } },
      required: ['ticketId'],
    });
    for (const op of [paths['/api/orders']!.get!, paths['/api/orders/{id}']!.get!, cancel]) {
      expect(op.requestBody).toBeUndefined();
    }
    const idParameter = expect.objectContaining({
      name: 'id',
      in: 'path',
      required: true,
      schema: expect.any(Object),
    });
    expect(cancel.parameters).toEqual([idParameter]);
    expect(paths['/api/orders/{id}']!.get!.parameters).toEqual([
      idParameter,
      expect.objectContaining({ name: 'waitFor', in: 'query', required: false }),
      expect.objectContaining({ name: 'timeout', in: 'query', required: false }),
    ]);

    const id = { type: 'string', pattern: '^[a-f0-9]{24}$' };
    const order = {
      type: 'object',
      properties: {
        id,
        userId: id,
        status: { type: 'string', enum: ['created', 'cancelled', 'complete'] },
        expiresAt: { type: 'string', format: 'date-time' },
        version: { type: 'integer' },
        ticket: {
          type: 'object',
          properties: { id, title: { type: 'string' }, price: { type: 'number' } },
          required: ['id', 'title', 'price'],
          additionalProperties: false,
        },
      },
      required: ['id', 'userId', 'status', 'expiresAt', 'version', 'ticket'],
      additionalProperties: false,
    };
    expect(responseSchema(create, '201')).toMatchObject(order);
    expect(responseSchema(paths['/api/orders/{id}']!.get!, '200')).toMatchObject(order);
    expect(responseSchema(paths['/api/orders']!.get!, '200')).toMatchObject({ type: 'array', items: order });
    // 204 has no body.
    expect(cancel.responses['204']!.content).toBeUndefined();
    const errorBody = jsonSchema(errorBodySchema, 'output');
    for (const status of ['401', '403', '404', '409'])
      expect(responseSchema(cancel, status)).toEqual(errorBody);
    expect(create.security).toEqual([{ cookieAuth: [] }, { bearerAuth: [] }]);
  });
});
