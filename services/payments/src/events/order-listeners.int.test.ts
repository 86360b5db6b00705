import { durableName, type RunningService, startService } from '@ticketing/common';
import {
  eventually,
  type MongoHandle,
  type NatsServerHandle,
  objectId,
  signTestUser,
  startMongo,
  startNats,
} from '@ticketing/testing';
import request from 'supertest';
import { createPaymentsService, stripeGatewayFromConfig } from '../app';
import type { PaymentsConfig } from '../config';
import {
  acknowledgedThrough,
  fastListeners,
  orderCreated,
  paymentsEnv,
  storesOf,
} from '../test-support/fixtures';
import { RecordingGateway } from '../test-support/recording-gateway';

let nats: NatsServerHandle;
let mongo: MongoHandle;
let running: RunningService<PaymentsConfig>;
let gateway: RecordingGateway;

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  const definition = createPaymentsService((context) => {
    gateway = new RecordingGateway(stripeGatewayFromConfig(context.config));
    return gateway;
  });
  running = await startService(
    { ...definition, tuning: { listeners: fastListeners } },
    { env: paymentsEnv(nats, mongo), listen: false },
  );
});

afterAll(async () => {
  await running?.stop();
  await mongo?.stop();
  await nats?.close();
});

const orders = () => storesOf(running).orders;
const payments = () => storesOf(running).payments;
const claims = () => storesOf(running).claims;
const publish: RunningService['context']['bus']['publish'] = (subject, data, options) =>
  running.context.bus.publish(subject, data, options);

function pay(cookie: string, orderId: string) {
  return request(running.app)
    .post('/api/payments')
    .set('Cookie', cookie)
    .send({ orderId, token: 'tok_visa' });
}

it('keeps a replica of each order (buyer, price, status, version) and ignores a repeated order.created', async () => {
  const event = orderCreated({ ticket: { id: objectId(), price: 12.5 } });
  await publish('order.created', event);
  await eventually(async () =>
    expect(await orders().get(event.id)).toMatchObject({
      userId: event.userId,
      price: 12.5,
      status: 'created',
      version: 0,
    }),
  );
  // Version 0 again (whatever it says): already applied, so nothing changes.
  await publish('order.created', { ...event, userId: objectId(), ticket: { id: objectId(), price: 99 } });
  const second = await publish('order.created', orderCreated());
  await eventually(() =>
    acknowledgedThrough(running.context.bus, 'ORDERS', durableName('payments', 'order.created'), second.seq),
  );
  expect(await orders().get(event.id)).toMatchObject({ userId: event.userId, price: 12.5 });
});

it('holds back an order.cancelled that arrives before its order.created, then applies both in order', async () => {
  const buyer = signTestUser();
  const created = orderCreated({ userId: buyer.user.id });
  const cancelled = await publish('order.cancelled', { id: created.id, version: 1, ticket: created.ticket });

  // The cancel was delivered and deferred, not applied to an order it cannot know yet, and not acked.
  await eventually(async () => {
    const info = await running.context.bus.jsm.consumers.info(
      'ORDERS',
      durableName('payments', 'order.cancelled'),
    );
    expect(info.num_redelivered).toBeGreaterThan(0);
    expect(info.ack_floor.stream_seq).toBeLessThan(cancelled.seq);
  });
  expect(await orders().get(created.id)).toBeNull();

  await publish('order.created', created);

  await eventually(async () =>
    expect(await orders().get(created.id)).toMatchObject({ status: 'cancelled', version: 1 }),
  );
  const response = await pay(buyer.cookie, created.id);
  expect(response.status).toBe(409);
  expect(gateway.chargesOf(created.id)).toHaveLength(0);
});

it('refunds a payment whose order is cancelled afterwards, once, however often the cancel is delivered', async () => {
  const buyer = signTestUser();
  const order = orderCreated({ userId: buyer.user.id });
  await publish('order.created', order);
  await eventually(async () => expect(await orders().get(order.id)).not.toBeNull());
  const paid = await pay(buyer.cookie, order.id);
  expect(paid.status).toBe(201);
  const { chargeId } = (await payments().get(paid.body.id))!;

  const cancel = { id: order.id, version: 1, ticket: order.ticket };
  await publish('order.cancelled', cancel);

  await eventually(async () =>
    expect(await payments().get(paid.body.id)).toMatchObject({
      status: 'refunded',
      refundId: expect.stringMatching(/^re_/),
      chargeId,
      version: 1,
    }),
  );
  expect(gateway.refunds).toContainEqual({ chargeId, idempotencyKey: `refund-${order.id}` });

  // The same cancel again (a new message, as a redelivery or a re-publish would be): no second refund.
  const again = await publish('order.cancelled', cancel);
  await eventually(() =>
    acknowledgedThrough(running.context.bus, 'ORDERS', durableName('payments', 'order.cancelled'), again.seq),
  );
  expect(gateway.refunds.filter((r) => r.chargeId === chargeId)).toHaveLength(1);
  expect(await (await payments().find({ orderId: order.id })).length).toBe(1);
  expect(await claims().countDocuments({ _id: order.id })).toBe(1);
});

it('refunds a charge that was in flight while the order was cancelled', async () => {
  const buyer = signTestUser();
  const order = orderCreated({ userId: buyer.user.id });
  await publish('order.created', order);
  await eventually(async () => expect(await orders().get(order.id)).not.toBeNull());

  const hold = gateway.holdCharges();
  const payment = pay(buyer.cookie, order.id).then((response) => response);
  await eventually(() => expect(hold.parkedCount()).toBeGreaterThan(0));
  await publish('order.cancelled', { id: order.id, version: 1, ticket: order.ticket });
  await eventually(async () => expect((await orders().get(order.id))?.status).toBe('cancelled'));
  hold.release();

  const response = await payment;
  expect(response.status).toBe(201);
  await eventually(async () =>
    expect(await payments().get(response.body.id)).toMatchObject({
      status: 'refunded',
      refundId: expect.stringMatching(/^re_/),
    }),
  );
  expect(gateway.chargesOf(order.id)).toHaveLength(1);
});

it('marks a completed order complete, after which paying it is a 409', async () => {
  const buyer = signTestUser();
  const order = orderCreated({ userId: buyer.user.id });
  await publish('order.completed', { id: order.id, version: 1, ticket: order.ticket });
  await publish('order.created', order);
  await eventually(async () =>
    expect(await orders().get(order.id)).toMatchObject({ status: 'complete', version: 1 }),
  );
  const response = await pay(buyer.cookie, order.id);
  expect(response.status).toBe(409);
  expect(response.body.errors[0].message).toMatch(/already paid/i);
});
