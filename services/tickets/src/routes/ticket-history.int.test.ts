import { EventHeaders } from '@ticketing/common';
import { eventually, objectId, responseSchema, servedOpenApiPaths, signTestUser } from '@ticketing/testing';
import request from 'supertest';
import {
  createTicket,
  expectTicketEvents,
  type Harness,
  orderCreated,
  orderFollowUp,
  publishOrderEvent,
  startHarness,
  stopHarness,
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

describe('GET /api/tickets/:id/history', () => {
  it('lists every version oldest first: what it changed, when, and the event it published (as on the stream)', async () => {
    const owner = signTestUser();
    const before = Date.now();
    const ticketId = await createTicket(harness, owner, { title: 'Concert', price: 20 });
    const edit = await api()
      .put(`/api/tickets/${ticketId}`)
      .set('Cookie', owner.cookie)
      .send({ title: 'Concert', price: '25.50' });
    expect(edit.status).toBe(200);
    const order = orderCreated(ticketId, objectId(), 25.5);
    await publishOrderEvent(harness, 'order.created', order);
    await eventually(async () => expect((await harness.stored(ticketId))?.version).toBe(2));
    await publishOrderEvent(harness, 'order.cancelled', orderFollowUp(ticketId, order.id, 1));
    const published = await expectTicketEvents(harness, ticketId, [
      ['ticket.created', 0],
      ['ticket.updated', 1],
      ['ticket.updated', 2],
      ['ticket.updated', 3],
    ]);
    expect(published).toHaveLength(4);
    const messages = (await harness.messages('TICKETS')).filter(
      (message) => (message.data as { id?: string }).id === ticketId,
    );
    const publishedIds = messages.map((message) => message.headers[EventHeaders.id]);

    const res = await api().get(`/api/tickets/${ticketId}/history`).set('Cookie', owner.cookie);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      {
        version: 0,
        at: expect.any(String),
        changes: { title: 'Concert', price: 20, userId: owner.user.id, orderId: null, sold: false },
        event: { subject: 'ticket.created', id: publishedIds[0] },
        events: [{ subject: 'ticket.created', id: publishedIds[0] }],
      },
      {
        version: 1,
        at: expect.any(String),
        changes: { price: 25.5 },
        event: { subject: 'ticket.updated', id: publishedIds[1] },
        events: [{ subject: 'ticket.updated', id: publishedIds[1] }],
      },
      {
        version: 2,
        at: expect.any(String),
        changes: { orderId: order.id },
        event: { subject: 'ticket.updated', id: publishedIds[2] },
        events: [{ subject: 'ticket.updated', id: publishedIds[2] }],
      },
      {
        version: 3,
        at: expect.any(String),
        changes: { orderId: null },
        event: { subject: 'ticket.updated', id: publishedIds[3] },
        events: [{ subject: 'ticket.updated', id: publishedIds[3] }],
      },
    ]);
    const times = (res.body as Array<{ at: string }>).map((entry) => Date.parse(entry.at));
    expect(times[0]).toBeGreaterThanOrEqual(before - 1000);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(times[3]).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('answers 401 signed out, 403 to another user, 404 for unknown and malformed ids', async () => {
    const owner = signTestUser();
    const ticketId = await createTicket(harness, owner);
    expect((await api().get(`/api/tickets/${ticketId}/history`)).status).toBe(401);
    const other = await api().get(`/api/tickets/${ticketId}/history`).set('Cookie', signTestUser().cookie);
    expect(other.status).toBe(403);
    expect(other.body).toEqual({ errors: [{ message: 'Not your ticket' }] });
    const unknown = await api().get(`/api/tickets/${objectId()}/history`).set('Cookie', owner.cookie);
    expect(unknown.status).toBe(404);
    expect((await api().get('/api/tickets/nope/history').set('Cookie', owner.cookie)).status).toBe(404);
  });

  it('is documented in OpenAPI with its answer schema', async () => {
    const paths = await servedOpenApiPaths(harness.running.app, 'tickets API');
    const operation = paths['/api/tickets/{id}/history']!.get!;
    expect(operation.operationId).toBe('ticketHistory');
    expect(Object.keys(operation.responses).sort()).toEqual(['200', '400', '401', '403', '404', '500']);
    expect(responseSchema(operation, '200')).toMatchObject({
      type: 'array',
      items: {
        type: 'object',
        properties: {
          version: { type: 'integer' },
          at: { type: 'string' },
          changes: { type: 'object' },
          event: expect.any(Object),
          events: { type: 'array' },
        },
        required: ['version', 'at', 'changes', 'event', 'events'],
      },
    });
  });
});
