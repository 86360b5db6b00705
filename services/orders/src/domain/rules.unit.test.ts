import { objectId } from '@ticketing/testing';
import { stillUnpaid, withOrder } from './buyer';
import { newOrder, orderCreated, orderView, placeholderOrder, settle } from './order';
import { claimedBy, claimRefusal, releasedBy } from './reservation';

const now = 1_000_000;

describe('reservation', () => {
  it('is free, held, or cooling down for the buyer who just let it go', () => {
    const buyer = objectId();
    const orderId = objectId();
    expect(claimRefusal(null, buyer, now)).toBeUndefined();
    const held = claimedBy(null, orderId, now);
    expect(claimRefusal(held, objectId(), now)).toBe('held');
    const released = releasedBy(held, orderId, buyer, now + 60_000, now)!;
    expect(released.orderId).toBeNull();
    expect(claimRefusal(released, buyer, now + 59_999)).toBe('cooldown');
    expect(claimRefusal(released, buyer, now + 60_001)).toBeUndefined();
    expect(claimRefusal(released, objectId(), now)).toBeUndefined();
  });

  it('is never released by an order that does not hold it, and forgets cooldowns that ran out', () => {
    const held = claimedBy(null, objectId(), now);
    expect(releasedBy(held, objectId(), objectId(), now + 1, now)).toBeUndefined();
    const old = { ...held, orderId: null, cooldowns: { someone: now - 1, other: now + 5 } };
    expect(claimedBy(old, objectId(), now).cooldowns).toEqual({ other: now + 5 });
  });
});

describe('order', () => {
  const order = {
    ...newOrder(objectId(), { id: objectId(), title: 'Gig', price: 12.5, version: 3 }, now, 60),
    _id: objectId(),
    version: 0,
  };

  it('announces the price it agreed to and the ticket version it read it from', () => {
    expect(orderCreated(order._id, order).data).toMatchObject({
      ticket: { id: order.ticket.id, price: 12.5, version: 3 },
    });
    expect(order.expiresAt.getTime()).toBe(now + 60_000);
  });

  it('ends once: complete or cancelled with its reason, then never again', () => {
    expect(settle(order, { status: 'complete' })).toMatchObject({
      state: { status: 'complete' },
      events: [{ subject: 'order.completed' }],
    });
    const cancelled = settle(order, { status: 'cancelled', reason: 'price_changed' })!;
    expect(cancelled.events).toEqual([
      {
        subject: 'order.cancelled',
        data: { id: order._id, ticket: { id: order.ticket.id }, reason: 'price_changed' },
      },
    ]);
    const ended = { ...order, ...cancelled.state, version: 1 };
    expect(settle(ended, { status: 'complete' })).toBeUndefined();
    expect(orderView(ended)).toMatchObject({ status: 'cancelled', cancelReason: 'price_changed' });
    expect(
      settle({ ...placeholderOrder(objectId()), _id: objectId(), version: 0 }, { status: 'complete' }),
    ).toBeUndefined();
  });
});

describe('buyer', () => {
  it('adds orders and keeps the unpaid ones', () => {
    const [a, b, c] = [objectId(), objectId(), objectId()];
    const buyer = withOrder(withOrder(withOrder(null, a, now), b, now), c, now);
    expect(buyer.orders.map((o) => o.id)).toEqual([a, b, c]);
    expect(stillUnpaid(buyer, new Set([b, c])).orders.map((o) => o.id)).toEqual([b, c]);
  });
});
