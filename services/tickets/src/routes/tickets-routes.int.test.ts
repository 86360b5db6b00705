import { errorBodySchema, jsonSchema } from '@ticketing/common';
import {
  eventually,
  objectId,
  operationSummary,
  responseSchema,
  servedOpenApiPaths,
  signTestUser,
} from '@ticketing/testing';
import request, { type Response } from 'supertest';
import {
  createTicket,
  expectTicketEvents,
  type Harness,
  orderCreated,
  publishOrderEvent,
  startHarness,
  stopHarness,
  ticketEvents,
  unpublishedChanges,
} from '../test-support/harness';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await stopHarness(harness);
});

function api() {
  return request(harness.running.app);
}

function expectFieldError(res: Response, field: string): void {
  expect(res.status).toBe(400);
  expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
}

/** Reserves a ticket the way production does: a real order.created on the ORDERS stream. */
async function reserve(ticketId: string): Promise<string> {
  const order = orderCreated(ticketId);
  await publishOrderEvent(harness, 'order.created', order);
  await eventually(async () => {
    expect((await harness.stored(ticketId))?.orderId).toBe(order.id);
  });
  return order.id;
}

describe('POST /api/tickets', () => {
  it('creates the ticket: 201 view, price stored as integer cents, ticket.created v0 on the stream', async () => {
    const owner = signTestUser();
    const res = await api()
      .post('/api/tickets')
      .set('Cookie', owner.cookie)
      .send({ title: '  Opera night  ', price: '12.50' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[a-f0-9]{24}$/),
      title: 'Opera night',
      price: 12.5,
      userId: owner.user.id,
      version: 0,
    });
    const stored = await harness.stored(res.body.id);
    expect(stored).toMatchObject({
      title: 'Opera night',
      priceCents: 1250,
      version: 0,
      orderId: null,
      sold: false,
    });
    const [created] = await expectTicketEvents(harness, res.body.id, [['ticket.created', 0]]);
    expect(created!.data).toEqual({
      id: res.body.id,
      version: 0,
      title: 'Opera night',
      price: 12.5,
      currency: 'usd',
      userId: owner.user.id,
    });
    // Published and acknowledged: the stream holds the change's event.
    await eventually(async () => expect(await unpublishedChanges(harness, res.body.id)).toBe(0));
  });

  it('accepts a Bearer token as well as the cookie', async () => {
    const owner = signTestUser();
    const res = await api()
      .post('/api/tickets')
      .set('Authorization', owner.bearer)
      .send({ title: 'Jazz', price: 5 });
    expect(res.status).toBe(201);
    expect(res.body.userId).toBe(owner.user.id);
  });

  it.each([
    ['0.29', 29, 0.29],
    [0.29, 29, 0.29],
    [0.1 + 0.2, 30, 0.3],
    ['1000000000', 100_000_000_000, 1_000_000_000],
    [' 7 ', 700, 7],
    ['3.5', 350, 3.5],
  ])('stores price %j exactly as %d cents and shows %d', async (price, cents, shown) => {
    const res = await api()
      .post('/api/tickets')
      .set('Cookie', signTestUser().cookie)
      .send({ title: 'T', price });
    expect(res.status).toBe(201);
    expect(res.body.price).toBe(shown);
    expect((await harness.stored(res.body.id))?.priceCents).toBe(cents);
  });

  it('answers 401 without a signed-in user, and with a forged token', async () => {
    await api().post('/api/tickets').send({ title: 'T', price: 10 }).expect(401);
    const forged = signTestUser({}, { jwtKey: 'someone-elses-key' });
    await api().post('/api/tickets').set('Cookie', forged.cookie).send({ title: 'T', price: 10 }).expect(401);
  });

  it.each([
    ['missing title', { price: 10 }, 'title'],
    ['blank title', { title: '   ', price: 10 }, 'title'],
    ['title of 201 characters', { title: 'x'.repeat(201), price: 10 }, 'title'],
    ['title as a NoSQL operator', { title: { $gt: '' }, price: 10 }, 'title'],
    ['missing price', { title: 'T' }, 'price'],
    ['zero price', { title: 'T', price: 0 }, 'price'],
    ['negative price', { title: 'T', price: -5 }, 'price'],
    ['three decimals', { title: 'T', price: 12.345 }, 'price'],
    ['three decimals as a string', { title: 'T', price: '12.345' }, 'price'],
    ['a non-numeric string', { title: 'T', price: 'ten' }, 'price'],
    ['an exponent string', { title: 'T', price: '1e3' }, 'price'],
    ['a negative string', { title: 'T', price: '-3' }, 'price'],
    ['above the maximum', { title: 'T', price: 1_000_000_000.01 }, 'price'],
    ['price as a NoSQL operator', { title: 'T', price: { $gt: 0 } }, 'price'],
    ['price as a boolean', { title: 'T', price: true }, 'price'],
  ])('rejects %s with 400 naming the field', async (_name, body, field) => {
    expectFieldError(await api().post('/api/tickets').set('Cookie', signTestUser().cookie).send(body), field);
  });

  it.each([
    ['NUL', 'Concert\u0000', 'must not contain control characters'],
    ['an ESC sequence', 'Concert \u001b[31mSOLD OUT\u001b[0m', 'must not contain control characters'],
    ['a C1 control', 'Concert\u009b2J', 'must not contain control characters'],
    [
      'a right-to-left override',
      'Concert\u202etxt.exe',
      'must not contain bidirectional override or isolate characters (U+202A-U+202E, U+2066-U+2069)',
    ],
    [
      'a directional isolate',
      '\u2067Concert\u2069',
      'must not contain bidirectional override or isolate characters (U+202A-U+202E, U+2066-U+2069)',
    ],
    ['zero-width characters only', '\u200b\u200c\u200d', 'must contain at least one visible character'],
  ])(
    'refuses a title with %s: 400 naming title, nothing stored or published',
    async (_name, title, message) => {
      const owner = signTestUser();
      const res = await api().post('/api/tickets').set('Cookie', owner.cookie).send({ title, price: 10 });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ errors: [{ message, field: 'title' }] });
      expect(await harness.store.find({ userId: owner.user.id })).toHaveLength(0);
    },
  );

  it('stores and publishes the NFC form of a title, trimmed', async () => {
    const owner = signTestUser();
    // "Cafe" + U+0301 COMBINING ACUTE ACCENT: the same text as the precomposed "Café", in another form.
    const res = await api()
      .post('/api/tickets')
      .set('Cookie', owner.cookie)
      .send({ title: '\u00a0 Cafe\u0301 Tacvba ', price: 10 });
    expect(res.status).toBe(201);
    expect(res.body.title).toBe('Caf\u00e9 Tacvba');
    expect((await harness.stored(res.body.id))?.title).toBe('Caf\u00e9 Tacvba');
    const [created] = await expectTicketEvents(harness, res.body.id, [['ticket.created', 0]]);
    expect(created!.data.title).toBe('Caf\u00e9 Tacvba');
  });

  it('accepts a title of exactly 200 characters', async () => {
    const res = await api()
      .post('/api/tickets')
      .set('Cookie', signTestUser().cookie)
      .send({ title: 'y'.repeat(200), price: 1 });
    expect(res.status).toBe(201);
  });

  it('answers malformed JSON 400, a non-object body 400 and an oversized body 413', async () => {
    const cookie = signTestUser().cookie;
    const malformed = await api()
      .post('/api/tickets')
      .set('Cookie', cookie)
      .set('Content-Type', 'application/json')
      .send('{"title": ');
    expect(malformed.status).toBe(400);
    await api()
      .post('/api/tickets')
      .set('Cookie', cookie)
      .send([{ title: 'T', price: 1 }])
      .expect(400);
    const huge = await api()
      .post('/api/tickets')
      .set('Cookie', cookie)
      .send({ title: 'T', price: 1, pad: 'x'.repeat(200_000) });
    expect(huge.status).toBe(413);
  });
});

describe('GET /api/tickets and /api/tickets/:id', () => {
  it('shows a ticket to anyone; 404 for an unknown id and for ids that are not ObjectIds', async () => {
    const owner = signTestUser();
    const id = await createTicket(harness, owner, { title: 'Ballet', price: '30' });
    const res = await api().get(`/api/tickets/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id, title: 'Ballet', price: 30, userId: owner.user.id, version: 0 });
    await api().get(`/api/tickets/${objectId()}`).expect(404);
    for (const bad of ['not-an-id', '123', `${id}0`, '%24gt', 'ABCDEF0123456789ABCDEF01']) {
      const r = await api().get(`/api/tickets/${bad}`);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ errors: [{ message: 'Ticket not found' }] });
    }
  });

  it('lists the tickets on sale only: a reserved ticket disappears from the list but is still shown', async () => {
    const free = await createTicket(harness);
    const taken = await createTicket(harness);
    const orderId = await reserve(taken);
    const list = await api().get('/api/tickets');
    expect(list.status).toBe(200);
    const ids = (list.body as Array<{ id: string }>).map((t) => t.id);
    expect(ids).toContain(free);
    expect(ids).not.toContain(taken);
    for (const ticket of list.body as Array<Record<string, unknown>>) {
      expect(Object.keys(ticket).sort()).toEqual(['id', 'price', 'title', 'userId', 'version']);
    }
    const shown = await api().get(`/api/tickets/${taken}`);
    expect(shown.body).toMatchObject({ id: taken, orderId, version: 1 });
  });
});

describe('PUT /api/tickets/:id', () => {
  it("updates the owner's ticket: 200, version 1, ticket.updated v1 with the new state on the stream", async () => {
    const owner = signTestUser();
    const id = await createTicket(harness, owner, { title: 'Old', price: 10 });
    const res = await api()
      .put(`/api/tickets/${id}`)
      .set('Cookie', owner.cookie)
      .send({ title: ' New ', price: '99.99' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id, title: 'New', price: 99.99, userId: owner.user.id, version: 1 });
    const events = await expectTicketEvents(harness, id, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
    ]);
    expect(events[1]!.data).toEqual({ id, version: 1, title: 'New', price: 99.99, userId: owner.user.id });
    const again = await api()
      .put(`/api/tickets/${id}`)
      .set('Cookie', owner.cookie)
      .send({ title: 'Newer', price: 1, version: 1 });
    expect(again.body.version).toBe(2);
    await expectTicketEvents(harness, id, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
      ['ticket.updated', 2],
    ]);
  });

  it('answers 401 without auth, 403 to another user, 404 for unknown or malformed ids; nothing changes', async () => {
    const owner = signTestUser();
    const id = await createTicket(harness, owner);
    const body = { title: 'Hijacked', price: 1 };
    await api().put(`/api/tickets/${id}`).send(body).expect(401);
    const forbidden = await api().put(`/api/tickets/${id}`).set('Cookie', signTestUser().cookie).send(body);
    expect(forbidden.status).toBe(403);
    await api().put(`/api/tickets/${objectId()}`).set('Cookie', owner.cookie).send(body).expect(404);
    await api().put('/api/tickets/not-an-id').set('Cookie', owner.cookie).send(body).expect(404);
    const stored = await harness.stored(id);
    expect(stored).toMatchObject({ title: 'Concert', priceCents: 2000, version: 0 });
  });

  it.each([
    ['blank title', { title: ' ', price: 1 }, 'title'],
    ['title with an ESC sequence', { title: '\u001b]0;pwned\u0007', price: 1 }, 'title'],
    ['title with a bidi override', { title: 'Ballet\u202d', price: 1 }, 'title'],
    ['title of zero-width spaces', { title: '\u200b', price: 1 }, 'title'],
    ['missing title', { price: 1 }, 'title'],
    ['title as a NoSQL operator', { title: { $ne: null }, price: 1 }, 'title'],
    ['missing price', { title: 'T' }, 'price'],
    ['price with 3 decimals', { title: 'T', price: '1.001' }, 'price'],
    ['negative version', { title: 'T', price: 1, version: -1 }, 'version'],
    ['version as a string', { title: 'T', price: 1, version: '0' }, 'version'],
  ])('rejects %s with 400 naming the field', async (_name, body, field) => {
    const owner = signTestUser();
    const id = await createTicket(harness, owner);
    expectFieldError(await api().put(`/api/tickets/${id}`).set('Cookie', owner.cookie).send(body), field);
  });

  it('answers malformed JSON 400 and an oversized body 413', async () => {
    const owner = signTestUser();
    const id = await createTicket(harness, owner);
    const malformed = await api()
      .put(`/api/tickets/${id}`)
      .set('Cookie', owner.cookie)
      .set('Content-Type', 'application/json')
      .send('{oops}');
    expect(malformed.status).toBe(400);
    const huge = await api()
      .put(`/api/tickets/${id}`)
      .set('Cookie', owner.cookie)
      .send({ title: 'T', price: 1, pad: 'x'.repeat(200_000) });
    expect(huge.status).toBe(413);
  });

  it('answers 409 while the ticket is reserved, and publishes nothing', async () => {
    const owner = signTestUser();
    const id = await createTicket(harness, owner);
    await reserve(id);
    const res = await api()
      .put(`/api/tickets/${id}`)
      .set('Cookie', owner.cookie)
      .send({ title: 'X', price: 1 });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ errors: [{ message: 'Ticket is reserved and cannot be edited' }] });
    await expectTicketEvents(harness, id, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
    ]);
    expect(await harness.stored(id)).toMatchObject({ title: 'Concert', version: 1 });
  });

  it('answers 409 naming `version` when the client sends a version that is no longer current', async () => {
    const owner = signTestUser();
    const id = await createTicket(harness, owner);
    await api()
      .put(`/api/tickets/${id}`)
      .set('Cookie', owner.cookie)
      .send({ title: 'A', price: 1 })
      .expect(200);
    const stale = await api()
      .put(`/api/tickets/${id}`)
      .set('Cookie', owner.cookie)
      .send({ title: 'B', price: 2, version: 0 });
    expect(stale.status).toBe(409);
    expect(stale.body.errors[0].field).toBe('version');
    expect(await harness.stored(id)).toMatchObject({ title: 'A', version: 1 });
  });

  it('two concurrent updates of version 0: exactly one 200, one 409, one ticket.updated', async () => {
    const owner = signTestUser();
    const id = await createTicket(harness, owner);
    const [a, b] = await Promise.all(
      ['First', 'Second'].map((title) =>
        api().put(`/api/tickets/${id}`).set('Cookie', owner.cookie).send({ title, price: 5, version: 0 }),
      ),
    );
    expect([a!.status, b!.status].sort()).toEqual([200, 409]);
    const winner = a!.status === 200 ? a! : b!;
    const stored = await harness.stored(id);
    expect(stored).toMatchObject({ title: winner.body.title, version: 1 });
    await expectTicketEvents(harness, id, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
    ]);
  });

  it('concurrent updates without a version never overwrite silently: each 200 is one version, in order', async () => {
    const owner = signTestUser();
    const id = await createTicket(harness, owner);
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        api()
          .put(`/api/tickets/${id}`)
          .set('Cookie', owner.cookie)
          .send({ title: `Title ${i}`, price: i + 1 }),
      ),
    );
    for (const res of responses) expect([200, 409]).toContain(res.status);
    const succeeded = responses.filter((r) => r.status === 200);
    expect(succeeded.length).toBeGreaterThanOrEqual(1);
    // Every 200 got its own version; the last one is what is stored.
    const versions = succeeded.map((r) => r.body.version as number).sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: succeeded.length }, (_, i) => i + 1));
    const last = succeeded.find((r) => r.body.version === succeeded.length)!;
    const stored = await harness.stored(id);
    expect(stored).toMatchObject({ title: last.body.title, version: succeeded.length });
    const events = await eventually(async () => {
      const found = await ticketEvents(harness, id);
      expect(found).toHaveLength(succeeded.length + 1);
      return found;
    });
    expect(events.map((e) => e.data.version)).toEqual(
      Array.from({ length: succeeded.length + 1 }, (_, i) => i),
    );
    // Each published state is the one the corresponding 200 answered.
    for (const res of succeeded) {
      expect(events[res.body.version]!.data).toMatchObject({ title: res.body.title, price: res.body.price });
    }
  });
});

describe('GET /openapi.json', () => {
  it('documents every operation: operationId, request body schema, answers and their schemas', async () => {
    expect(harness.running.context.config.API_VALIDATE_RESPONSES).toBe(true);
    const paths = await servedOpenApiPaths(harness.running.app, 'tickets API');
    expect(operationSummary(paths)).toEqual({
      'POST /api/tickets': {
        operationId: 'createTicket',
        statuses: ['201', '400', '401', '413', '415', '429', '500'],
      },
      'GET /api/tickets': { operationId: 'listTickets', statuses: ['200', '400', '500'] },
      'GET /api/tickets/{id}': { operationId: 'showTicket', statuses: ['200', '400', '404', '500'] },
      'PUT /api/tickets/{id}': {
        operationId: 'updateTicket',
        statuses: ['200', '400', '401', '403', '404', '409', '413', '415', '500'],
      },
      'GET /api/tickets/{id}/history': {
        operationId: 'ticketHistory',
        statuses: ['200', '400', '401', '403', '404', '500'],
      },
    });

    const create = paths['/api/tickets']!.post!;
    const update = paths['/api/tickets/{id}']!.put!;
    const price = {
      anyOf: [
        expect.objectContaining({ type: 'number', exclusiveMinimum: 0, maximum: 1_000_000_000 }),
        expect.objectContaining({ type: 'string', pattern: expect.any(String) }),
      ],
    };
    expect(create.requestBody!.content['application/json'].schema).toMatchObject({
      type: 'object',
      properties: { title: { type: 'string', minLength: 1, maxLength: 200 }, price },
      required: ['title', 'price'],
    });
    expect(update.requestBody!.content['application/json'].schema).toMatchObject({
      properties: { title: { type: 'string' }, price, version: { type: 'integer', minimum: 0 } },
      required: ['title', 'price'],
    });
    expect(paths['/api/tickets']!.get!.requestBody).toBeUndefined();
    for (const op of [update, paths['/api/tickets/{id}']!.get!]) {
      expect(op.parameters).toEqual([
        expect.objectContaining({ name: 'id', in: 'path', required: true, schema: expect.any(Object) }),
      ]);
    }

    const ticket = {
      type: 'object',
      properties: {
        id: { type: 'string', pattern: '^[a-f0-9]{24}$' },
        title: { type: 'string' },
        price: { type: 'number' },
        userId: { type: 'string', pattern: '^[a-f0-9]{24}$' },
        version: { type: 'integer' },
        orderId: { type: 'string', pattern: '^[a-f0-9]{24}$' },
      },
      required: ['id', 'title', 'price', 'userId', 'version'],
      additionalProperties: false,
    };
    expect(responseSchema(create, '201')).toMatchObject(ticket);
    expect(responseSchema(update, '200')).toMatchObject(ticket);
    expect(responseSchema(paths['/api/tickets/{id}']!.get!, '200')).toMatchObject(ticket);
    expect(responseSchema(paths['/api/tickets']!.get!, '200')).toMatchObject({
      type: 'array',
      items: ticket,
    });
    const errorBody = jsonSchema(errorBodySchema, 'output');
    for (const status of ['400', '401', '403', '404', '409'])
      expect(responseSchema(update, status)).toEqual(errorBody);
    expect(create.security).toEqual([{ cookieAuth: [] }, { bearerAuth: [] }]);
    expect(paths['/api/tickets']!.get!.security).toEqual([]);
  });
});

describe('GET /api/tickets pages', () => {
  it('answers `limit` tickets oldest first with a Link to the next page, until the last page', async () => {
    const seller = signTestUser();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await createTicket(harness, seller));
    // Earlier tests left tickets on sale: walk from the first of ours.
    const before = (await api().get('/api/tickets?limit=100')).body as Array<{ id: string }>;
    const start = before.findIndex((t) => t.id === ids[0]);
    const after = start > 0 ? before[start - 1]?.id : undefined;
    let url = `/api/tickets?limit=2${after ? `&after=${after}` : ''}`;
    const seen: string[] = [];
    for (let pages = 0; pages < 10; pages++) {
      const res = await api().get(url);
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      expect((res.body as unknown[]).length).toBeLessThanOrEqual(2);
      seen.push(...(res.body as Array<{ id: string }>).map((t) => t.id));
      const link = res.headers.link as string | undefined;
      if (!link) break;
      expect(link).toMatch(/^<\/api\/tickets\?limit=2&after=[a-f0-9]{24}>; rel="next"$/);
      url = link.slice(1, link.indexOf('>'));
    }
    expect(seen.slice(0, 5)).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('defaults to 50 and refuses a bad limit or cursor with 400 naming the field', async () => {
    const res = await api().get('/api/tickets');
    expect(res.status).toBe(200);
    expect((res.body as unknown[]).length).toBeLessThanOrEqual(50);
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['after=nope', 'after'],
    ] as const) {
      expectFieldError(await api().get(`/api/tickets?${query}`), field);
    }
  });
});

describe('a seller’s pace', () => {
  it('lets a seller put TICKET_CREATION_LIMIT_PER_MINUTE tickets on sale per minute, then answers 429 with Retry-After', async () => {
    const seller = signTestUser();
    for (let i = 0; i < 60; i++) await createTicket(harness, seller);
    const refused = await api()
      .post('/api/tickets')
      .set('Cookie', seller.cookie)
      .send({ title: 'One more', price: 5 });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(await harness.store.find({ userId: seller.user.id })).toHaveLength(60);
    // Another seller is not slowed by it.
    expect(
      (
        await api()
          .post('/api/tickets')
          .set('Cookie', signTestUser().cookie)
          .send({ title: 'Mine', price: 5 })
      ).status,
    ).toBe(201);
  });
});
