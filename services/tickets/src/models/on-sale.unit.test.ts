import type { Bus, Logger } from '@ticketing/common';
import { objectId } from '@ticketing/testing';
import type { TicketStore, TicketView } from '../domain/ticket';
import { OnSaleListing } from './on-sale';

// Only apply() and page() are exercised: no store, no stream.
const listing = () => new OnSaleListing({} as TicketStore, {} as Bus, {} as Logger);

function ticket(id: string, version: number, orderId?: string): TicketView {
  return { id, title: `t-${id.slice(-4)}`, price: 10, userId: 'u', version, ...(orderId ? { orderId } : {}) };
}

describe('OnSaleListing', () => {
  const ids = Array.from({ length: 7 }, () => objectId()).sort();

  it('pages the tickets on sale oldest first, with the cursor of the next page', () => {
    const list = listing();
    for (const id of [...ids].reverse()) list.apply(ticket(id, 0));
    const first = list.page(3);
    expect(first.tickets.map((t) => t.id)).toEqual(ids.slice(0, 3));
    expect(first.next).toBe(ids[2]);
    const second = list.page(3, first.next);
    expect(second.tickets.map((t) => t.id)).toEqual(ids.slice(3, 6));
    const last = list.page(3, second.next);
    expect(last).toEqual({ tickets: [ticket(ids[6]!, 0)] });
    expect(list.page(3, ids[6])).toEqual({ tickets: [] });
  });

  it('drops a reserved ticket, lists it again when released, and never goes back to an older version', () => {
    const list = listing();
    for (const id of ids) list.apply(ticket(id, 0));
    list.apply(ticket(ids[1]!, 1, objectId()));
    expect(list.page(100).tickets.map((t) => t.id)).not.toContain(ids[1]);
    list.apply(ticket(ids[1]!, 0)); // a late, older event
    expect(list.page(100).tickets.map((t) => t.id)).not.toContain(ids[1]);
    list.apply(ticket(ids[1]!, 2));
    expect(list.page(100).tickets.map((t) => t.id)).toEqual(ids);
    expect(list.page(100).tickets[1]).toMatchObject({ version: 2 });
  });

  it('starts a page after a cursor that is no longer listed', () => {
    const list = listing();
    for (const id of ids) list.apply(ticket(id, 0));
    list.apply(ticket(ids[2]!, 1, objectId()));
    expect(list.page(2, ids[2]).tickets.map((t) => t.id)).toEqual(ids.slice(3, 5));
  });
});
