import { objectId } from '@ticketing/testing';
import { evolve, reactToOrder, type TicketState, ticketEvents } from './ticket';

const free: TicketState = { title: 'Gig', priceCents: 1250, userId: objectId(), orderId: null, sold: false };
const orderId = objectId();

describe('reactToOrder', () => {
  it('reserves a free ticket for an order placed at its price, and refuses one placed at another price', () => {
    expect(reactToOrder(free, { kind: 'created', orderId, price: 12.5 })).toEqual({ kind: 'reserve' });
    expect(reactToOrder(free, { kind: 'created', orderId, price: 10 })).toEqual({ kind: 'refuse' });
  });

  it('makes a new order wait while another order still holds the ticket here', () => {
    const held = { ...free, orderId: objectId() };
    expect(reactToOrder(held, { kind: 'created', orderId, price: 12.5 })).toMatchObject({ kind: 'wait' });
  });

  it('releases only for the holding order, and never a sold ticket', () => {
    const held = { ...free, orderId };
    expect(reactToOrder(held, { kind: 'cancelled', orderId })).toEqual({ kind: 'release' });
    expect(reactToOrder(held, { kind: 'cancelled', orderId: objectId() })).toMatchObject({ kind: 'ignore' });
    expect(reactToOrder({ ...held, sold: true }, { kind: 'cancelled', orderId })).toMatchObject({
      kind: 'ignore',
      level: 'warn',
    });
  });

  it('sells only to the holding order', () => {
    const held = { ...free, orderId };
    expect(reactToOrder(held, { kind: 'completed', orderId })).toEqual({ kind: 'sell' });
    expect(reactToOrder(free, { kind: 'completed', orderId })).toMatchObject({ kind: 'ignore' });
  });
});

describe('evolve and ticketEvents', () => {
  it('a refusal changes nothing but announces itself beside the version’s ticket.updated', () => {
    const next = evolve(free, { kind: 'refuse' }, orderId);
    expect(next).toEqual(free);
    expect(ticketEvents('t1', next, { kind: 'refuse' }, orderId)).toEqual([
      { subject: 'ticket.updated', data: { id: 't1', title: 'Gig', price: 12.5, userId: free.userId } },
      { subject: 'ticket.refused', data: { id: 't1', orderId, reason: 'price_changed', price: 12.5 } },
    ]);
  });

  it('reserve, sell and release move the holder and the sold mark', () => {
    const reserved = evolve(free, { kind: 'reserve' }, orderId);
    expect(reserved).toMatchObject({ orderId, sold: false });
    expect(evolve(reserved, { kind: 'sell' }, orderId)).toMatchObject({ orderId, sold: true });
    expect(evolve(reserved, { kind: 'release' }, orderId)).toMatchObject({ orderId: null });
    expect(ticketEvents('t1', reserved, { kind: 'reserve' }, orderId)[0]!.data).toMatchObject({ orderId });
  });
});
