import {
  AggregateExistsError,
  ConflictError,
  type Logger,
  NotFoundError,
  newEvent,
  VersionConflictError,
} from '@ticketing/common';
import { Types } from 'mongoose';
import { changeAt } from './changes';
import type { OrdersModels } from './models';
import {
  type OrderHead,
  type OrderOutcomeStatus,
  type OrderState,
  orderEventId,
  placeholderOrder,
} from './order';
import { claimTicket, type ReservationHead, releaseTicket } from './reservation';

/**
 * How long a claim may name an order that does not exist before a new buyer may take the ticket over.
 * A placement writes its claim and then its order within milliseconds; a claim this old without its order
 * belongs to a placement that died in between.
 */
export const CLAIM_GRACE_MS = 30_000;

const TICKET_RESERVED = 'Ticket is already reserved';

/** What {@link OrderLifecycle} works with. */
export interface OrderLifecycleDeps {
  /** The service's stores. */
  models: OrdersModels;
  /** For the rare slow paths. */
  logger: Logger;
}

/** What a new order needs. */
export interface PlaceOrderInput {
  /** The buyer. */
  userId: string;
  /** The ticket to reserve. */
  ticketId: string;
  /** Length of the reservation window. */
  expiresInSeconds: number;
}

/**
 * Placing, cancelling and completing orders, with the reservation of their tickets.
 *
 * Every decision that two writers may race for is the claim of an aggregate version in an AggregateStore
 * (one insert of `<id>:<version>`, the one compare-and-set FerretDB 1.24 makes atomic):
 * - who holds a ticket: the next version of the ticket's reservation (reservation.ts);
 * - how an order ends: its version 1, claimed by the cancellation or the payment, whichever comes first,
 *   with its event in the same insert (so exactly one of order.cancelled / order.completed exists);
 * - whether a half-done placement may still finish: its order's version 0, which a placeholder can take first.
 */
export class OrderLifecycle {
  constructor(private readonly deps: OrderLifecycleDeps) {}

  /**
   * Reserves the ticket and creates the order with its order.created. Throws NotFoundError for a ticket the
   * replica does not know, ConflictError when another order holds it.
   *
   * Writes, in this order: (1) the claim (next version of the ticket's reservation), (2) the order's
   * version 0 with order.created.
   * - Crash after (1): the claim names an order that does not exist. Once the claim is older than
   *   CLAIM_GRACE_MS, the next buyer takes version 0 of that order id with a placeholder (so a placement that
   *   was only slow gets AggregateExistsError instead of becoming a second holder) and claims the ticket on
   *   top of the dead claim.
   * - Crash after (2): a normal order; the relay publishes order.created, expiration cancels it if unpaid.
   * The other order (order first, then claim) would commit order.created, which the relay may publish,
   * before the claim is won.
   */
  async place(input: PlaceOrderInput): Promise<OrderHead> {
    const { orders, reservations, tickets } = this.deps.models;
    const ticket = await tickets.get(input.ticketId);
    if (!ticket) throw new NotFoundError('Ticket not found');

    const id = new Types.ObjectId().toHexString();
    const order: OrderState = {
      userId: input.userId,
      status: 'created',
      expiresAt: new Date(Date.now() + input.expiresInSeconds * 1000),
      ticket: { id: input.ticketId, title: ticket.title, price: ticket.price },
    };
    // Built before any write, so a payload that fails its schema leaves nothing behind.
    const created = newEvent(
      'order.created',
      {
        id,
        version: 0,
        userId: order.userId,
        status: order.status,
        expiresAt: order.expiresAt.toISOString(),
        ticket: { id: input.ticketId, price: ticket.price },
      },
      { id: orderEventId(id, 0) },
    );

    const claimed = await claimTicket(reservations, input.ticketId, id, (reservation) =>
      this.isAbandonedClaim(input.ticketId, reservation),
    );
    if (!claimed) throw new ConflictError(TICKET_RESERVED);
    try {
      return await orders.create(id, order, [created]);
    } catch (error) {
      await releaseTicket(reservations, input.ticketId, id).catch((releaseError: unknown) => {
        // Left held, the claim is taken over after CLAIM_GRACE_MS like that of a crashed placement.
        this.deps.logger.warn({ err: releaseError, orderId: id }, 'could not release a failed placement');
      });
      // Our id is taken: a buyer judged this placement dead and put a placeholder there.
      if (error instanceof AggregateExistsError) throw new ConflictError(TICKET_RESERVED);
      throw error;
    }
  }

  /**
   * Gives a live order its final status: `wanted`, unless another outcome claimed the order's next version
   * first (a payment that beat the expiry, or the reverse). Resolves with the status the order ends with.
   * Idempotent: an order already settled gets no second event, only the release of its ticket again if it
   * was cancelled (a no-op unless a crash interrupted the first time).
   *
   * Writes, in this order: (1) the order's version 1 with its event, (2) for a cancellation, the release of
   * the ticket. A crash after (1) leaves a cancelled order still holding its ticket: the next touch finishes
   * it (the redelivered event, a repeated DELETE, or a buyer finding the ticket held by it, see
   * isAbandonedClaim). The release comes last so the ticket is never free while the order is not cancelled.
   */
  async settle(order: OrderHead, wanted: OrderOutcomeStatus): Promise<OrderOutcomeStatus> {
    const status = order.status === 'created' ? await this.decide(order, wanted) : order.status;
    if (status === 'cancelled') {
      await releaseTicket(this.deps.models.reservations, order.ticket.id, String(order._id));
    }
    return status;
  }

  /**
   * Writes `wanted` as the order's next version, with its event. When another writer claimed that version
   * first, its change decides: it is read even if that writer has not written the head yet.
   */
  private async decide(order: OrderHead, wanted: OrderOutcomeStatus): Promise<OrderOutcomeStatus> {
    const { orders } = this.deps.models;
    const id = String(order._id);
    const version = order.version + 1;
    const event = newEvent(
      wanted === 'cancelled' ? 'order.cancelled' : 'order.completed',
      { id, version, ticket: { id: order.ticket.id } },
      { id: orderEventId(id, version) },
    );
    try {
      await orders.update(order, { status: wanted }, [event]);
      return wanted;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      const winner = await changeAt(orders, id, error.version);
      const decided = winner?.state.status;
      // An order's only change after version 0 is its outcome; anything else is a bug worth a loud retry.
      if (decided !== 'cancelled' && decided !== 'complete') throw error;
      return decided;
    }
  }

  /**
   * True when a claim no longer protects anything: its placement died (no order after the grace period,
   * then a placeholder takes the order's id), or its order was cancelled, even if the cancellation died
   * before it released the ticket or before the order's head showed it.
   */
  private async isAbandonedClaim(ticketId: string, claim: ReservationHead): Promise<boolean> {
    const { orders, reservations } = this.deps.models;
    const holderId = claim.orderId!;
    let holder = await orders.get(holderId);
    if (!holder) {
      // A placement in progress and a dead one look the same here; only the claim's age tells them apart.
      const claimed = await changeAt(reservations, ticketId, claim.version);
      if (!claimed || Date.now() - new Date(claimed.at).getTime() < CLAIM_GRACE_MS) return false;
      try {
        await orders.create(holderId, placeholderOrder(ticketId));
        this.deps.logger.warn({ orderId: holderId, ticketId }, 'voided the order id of a dead placement');
        return true;
      } catch (error) {
        if (!(error instanceof AggregateExistsError)) throw error;
      }
      // The slow placement wrote its order first (its head may still be on its way, or its writer died).
      await orders.repairHead(holderId, 0);
      holder = await orders.get(holderId);
      if (!holder) return false;
    }
    if (holder.status === 'created') {
      // A cancellation may have claimed version 1 and died before the head showed it; the relay rolls the
      // head forward only once NATS has its event, so look for it here rather than wait.
      if (!(await orders.repairHead(holderId, holder.version + 1))) return false;
      holder = await orders.get(holderId);
    }
    return holder?.status === 'cancelled';
  }
}
