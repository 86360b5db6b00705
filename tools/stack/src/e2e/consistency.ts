import { missingEvents, readStream } from '@ticketing/testing';
import { serviceNames } from '../stack';
import type { TestStack } from './support';

interface TicketHead {
  _id: unknown;
  orderId?: string | null;
  sold?: boolean;
}
interface OrderHead {
  _id: unknown;
  status: 'created' | 'cancelled' | 'complete';
  ticket: { id: string };
}
interface PaymentHead {
  _id: unknown;
  orderId: string;
  status?: string;
}

/** Documents in a stable order (by `_id`), so two snapshots compare equal whatever order storage returns. */
function byId<T extends { _id: unknown }>(documents: T[]): T[] {
  return documents.sort((a, b) => String(a._id).localeCompare(String(b._id)));
}

/** What every service's own database says, read directly. */
export async function snapshot(test: TestStack) {
  const [tickets, orders, reservations, payments, paymentOrders] = await Promise.all([
    test.db('tickets').collection<TicketHead>('tickets').find({}).toArray(),
    test.db('orders').collection<OrderHead>('orders').find({}).toArray(),
    test.db('orders').collection<{ _id: unknown; orderId: string | null }>('reservations').find({}).toArray(),
    test.db('payments').collection<PaymentHead>('payments').find({}).toArray(),
    test.db('payments').collection<{ _id: unknown; status: string }>('orders').find({}).toArray(),
  ]);
  return {
    tickets: byId(tickets),
    orders: byId(orders),
    reservations: byId(reservations),
    payments: byId(payments),
    paymentOrders: byId(paymentOrders),
  };
}

/** Events of changes that no stream holds, in every service's database: none once the system is quiet. */
async function unpublishedChanges(test: TestStack): Promise<string[]> {
  const streams = (
    await Promise.all(
      ['TICKETS', 'ORDERS', 'PAYMENTS', 'EXPIRATION'].map((stream) =>
        readStream({ servers: test.stack.natsUrl, stream }),
      ),
    )
  ).flat();
  const problems: string[] = [];
  for (const service of serviceNames) {
    const db = test.db(service);
    const collections = await db.listCollections({}, { nameOnly: true }).toArray();
    for (const { name } of collections.filter((c) => c.name.endsWith('_changes'))) {
      const changes = await db
        .collection<{ _id: string; events?: Array<{ id: string }> }>(name)
        .find({})
        .toArray();
      for (const id of missingEvents(changes, streams))
        problems.push(`${service} ${name}: event ${id} is not on its stream`);
    }
  }
  return problems;
}

/**
 * Version sequences of each aggregate on a stream: they must be 0, 1, 2… without gaps (`subjects`: the events
 * that carry every version; a ticket.refused rides along with the ticket.updated of its version).
 */
async function versionGaps(
  natsUrl: string,
  stream: string,
  idField: 'id' | 'orderId',
  subjects?: string[],
): Promise<string[]> {
  const messages = (await readStream({ servers: natsUrl, stream })).filter(
    (message) => !subjects || subjects.includes(message.subject),
  );
  const versions = new Map<string, number[]>();
  for (const message of messages) {
    const data = message.data as Record<string, unknown>;
    const id = String(data[idField]);
    versions.set(id, [...(versions.get(id) ?? []), Number(data.version)]);
  }
  const problems: string[] = [];
  for (const [id, list] of versions) {
    const expected = list.map((_, index) => index);
    if (JSON.stringify(list) !== JSON.stringify(expected))
      problems.push(`${stream} ${id} has versions ${list.join(',')}`);
  }
  return problems;
}

/** Orders whose expiration fired more than once (each fires at its version 1, with no event before). */
async function doubleExpirations(test: TestStack): Promise<string[]> {
  const fired = new Map<string, number>();
  for (const message of await readStream({ servers: test.stack.natsUrl, stream: 'EXPIRATION' })) {
    const { orderId } = message.data as { orderId: string };
    fired.set(orderId, (fired.get(orderId) ?? 0) + 1);
  }
  return [...fired]
    .filter(([, count]) => count > 1)
    .map(([id, count]) => `expiration of ${id} fired ${count} times`);
}

/**
 * Cross-service invariants once the system is quiet: every complete order is paid and owns its sold ticket;
 * no cancelled order holds a ticket or an unrefunded payment; no ticket is held by two live orders; every
 * payment belongs to a complete order (or was refunded); the replicas agree with their owners; every stream
 * carries each aggregate's versions 0, 1, 2… once; no change is left unpublished. Returns the violations (empty
 * when consistent).
 */
export async function consistencyViolations(test: TestStack): Promise<string[]> {
  const { tickets, orders, reservations, payments, paymentOrders } = await snapshot(test);
  const problems: string[] = [];
  const ticketById = new Map(tickets.map((t) => [String(t._id), t]));
  const reservationByTicket = new Map(reservations.map((r) => [String(r._id), r]));
  const paymentByOrder = new Map(payments.map((p) => [p.orderId, p]));
  const paymentReplica = new Map(paymentOrders.map((o) => [String(o._id), o]));
  const liveByTicket = new Map<string, string[]>();

  for (const order of orders) {
    const id = String(order._id);
    const ticket = ticketById.get(order.ticket.id);
    const reservation = reservationByTicket.get(order.ticket.id);
    const payment = paymentByOrder.get(id);
    const refunded = payment?.status === 'refunded';
    if (order.status !== 'cancelled')
      liveByTicket.set(order.ticket.id, [...(liveByTicket.get(order.ticket.id) ?? []), id]);
    if (
      paymentReplica.get(id)?.status !== order.status &&
      !(order.status === 'cancelled' && !paymentReplica.has(id))
    ) {
      problems.push(
        `order ${id} is ${order.status} but payments' replica says ${paymentReplica.get(id)?.status ?? 'nothing'}`,
      );
    }
    if (order.status === 'complete') {
      if (!payment || refunded) problems.push(`complete order ${id} has no (unrefunded) payment`);
      if (ticket?.orderId !== id || ticket?.sold !== true)
        problems.push(`complete order ${id}: ticket not sold to it`);
      if (reservation?.orderId !== id) problems.push(`complete order ${id}: reservation not held by it`);
    } else if (order.status === 'cancelled') {
      if (payment && !refunded) problems.push(`cancelled order ${id} has an unrefunded payment`);
      if (ticket?.orderId === id)
        problems.push(`cancelled order ${id} still holds ticket ${order.ticket.id}`);
      if (reservation?.orderId === id) problems.push(`cancelled order ${id} still holds its reservation`);
    } else if (ticket?.orderId !== id) {
      problems.push(`created order ${id}: ticket reserved by ${ticket?.orderId ?? 'nobody'}`);
    }
  }
  for (const [ticketId, live] of liveByTicket) {
    if (live.length > 1)
      problems.push(`ticket ${ticketId} held by ${live.length} live orders: ${live.join(',')}`);
  }
  for (const ticket of tickets) {
    if (ticket.orderId && !orders.some((o) => String(o._id) === ticket.orderId && o.status !== 'cancelled')) {
      problems.push(`ticket ${String(ticket._id)} reserved by ${ticket.orderId}, which is not a live order`);
    }
  }
  for (const payment of payments) {
    const order = orders.find((o) => String(o._id) === payment.orderId);
    if (!order) problems.push(`payment for unknown order ${payment.orderId}`);
    else if (order.status !== 'complete' && payment.status !== 'refunded') {
      problems.push(`payment for ${order.status} order ${payment.orderId} was not refunded`);
    }
  }
  const gaps = await Promise.all([
    versionGaps(test.stack.natsUrl, 'TICKETS', 'id', ['ticket.created', 'ticket.updated']),
    versionGaps(test.stack.natsUrl, 'ORDERS', 'id'),
    versionGaps(test.stack.natsUrl, 'PAYMENTS', 'id'),
  ]);
  return [
    ...problems,
    ...gaps.flat(),
    ...(await doubleExpirations(test)),
    ...(await unpublishedChanges(test)),
  ];
}
