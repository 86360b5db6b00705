import {
  AggregateExistsError,
  ConflictError,
  ForbiddenError,
  type Logger,
  NotFoundError,
  OutOfOrderError,
  PoisonMessageError,
} from '@ticketing/common';
import { Types } from 'mongoose';
import { type BuyerState, type BuyerStore, stillUnpaid, withOrder } from '../domain/buyer';
import {
  newOrder,
  type Order,
  type OrderStore,
  type Outcome,
  orderCreated,
  placeholderOrder,
  settle,
} from '../domain/order';
import {
  claimedBy,
  claimRefusal,
  type Reservation,
  type ReservationStore,
  releasedBy,
} from '../domain/reservation';
import type { TicketCopyStore, VersionedTicketCopy } from '../domain/ticket';

export interface OrdersStores {
  orders: OrderStore;
  reservations: ReservationStore;
  tickets: TicketCopyStore;
  buyers: BuyerStore;
}

export interface OrderRules {
  expiresInSeconds: number;
  /** Unpaid orders a buyer may hold at once. */
  maxLiveOrders: number;
  /** How long a buyer who let a ticket go may not reserve it again, in ms. */
  reorderCooldownMs: number;
  /**
   * How long a claim may name an order that does not exist before a new buyer may take the ticket over: a
   * placement writes its claim and its order within milliseconds, so an older one belongs to a dead placement.
   */
  claimGraceMs: number;
  /** How long a payment waits for the tickets service to confirm the reservation before it is handed back, in ms. */
  confirmWaitMs: number;
}

const TICKET_RESERVED = 'Ticket is already reserved';

/**
 * Placing and settling orders with the reservation of their tickets. Every decision two writers may race for is
 * the claim of an aggregate version:
 * - who holds a ticket: the next version of its reservation;
 * - how many unpaid orders a buyer holds: the next version of the buyer;
 * - how an order ends: its version 1, claimed by the cancellation or the completion, whichever comes first,
 *   with its event in the same insert (so exactly one of order.cancelled / order.completed exists);
 * - whether a half-done placement may still finish: its order's version 0, which a placeholder can take first.
 */
export class OrderBook {
  constructor(
    private readonly stores: OrdersStores,
    private readonly rules: OrderRules,
    private readonly logger: Logger,
  ) {}

  /**
   * Reserves the ticket for a new order of `userId` and creates the order with its order.created. Waits (bounded)
   * for the ticket replica to learn a ticket it does not know yet: read-your-writes across services.
   *
   * Writes, in this order: (1) the claim (the ticket reservation's next version), (2) the buyer's next version
   * with the order, (3) the order's version 0 with order.created. A crash after (1) leaves a claim naming an
   * order that does not exist: once older than the grace period, the next buyer takes it over (see
   * {@link canTakeOver}). After (2), the buyer lists an order that never came: dropped when the list is full.
   */
  async place(userId: string, ticketId: string): Promise<Order> {
    const { orders, reservations, tickets, buyers } = this.stores;
    // Known here already (this replica applied it), or waited for: read-your-writes across services.
    const ticket = (await tickets.peek(ticketId)) ?? (await tickets.waitFor(ticketId));
    if (!ticket) throw new NotFoundError('Ticket not found');
    if (ticket.userId === userId) throw new ForbiddenError('You cannot buy your own ticket');
    // Checked before any claim (no ticket is held for someone over the limit), then again by the buyer's claim.
    const buyer = await buyers.peek(userId);
    const admitted = await this.admitted(userId, buyer);

    const id = new Types.ObjectId().toHexString();
    const now = Date.now();
    const order = newOrder(
      userId,
      { id: ticketId, title: ticket.title, price: ticket.price, version: ticket.version },
      now,
      this.rules.expiresInSeconds,
    );
    // A ticket at version 0 was never reserved (a reservation is a new ticket version): spare the read.
    const unreserved = ticket.version === 0 ? { current: null } : {};
    await reservations.decide(
      ticketId,
      async (reservation) => {
        const refusal = claimRefusal(reservation, userId, now);
        if (refusal === 'cooldown') {
          throw new ConflictError('You let this ticket go moments ago; try again later', 'ticketId');
        }
        if (refusal === 'held' && !(await this.canTakeOver(ticketId, reservation!))) {
          throw new ConflictError(TICKET_RESERVED, 'ticketId');
        }
        return { state: claimedBy(reservation, id, now) };
      },
      unreserved,
    );
    try {
      await buyers.decide(
        userId,
        async (current) => {
          // The buyer as read for the check above, unless another placement of theirs came in between.
          const unchanged = current?.version === buyer?.version;
          return { state: withOrder(unchanged ? admitted : await this.admitted(userId, current), id, now) };
        },
        { current: buyer },
      );
      return await orders.create(id, order, [orderCreated(id, order)]);
    } catch (error) {
      await this.releaseTicket(ticketId, id, '').catch((releaseError: unknown) => {
        // Left held, the claim is taken over after the grace period like that of a crashed placement.
        this.logger.warn({ err: releaseError, orderId: id }, 'could not release a failed placement');
      });
      // Our id is taken: a buyer judged this placement dead and put a placeholder there.
      if (error instanceof AggregateExistsError) throw new ConflictError(TICKET_RESERVED, 'ticketId');
      throw error;
    }
  }

  /**
   * Ends a live order with `outcome`, unless another outcome ended it first (a payment that beat the expiry, or
   * the reverse). Resolves with the order as it ends; its ticket is released if it ends cancelled. Idempotent: an
   * order already settled gets no second event, only the release of its ticket again (a no-op unless a crash
   * came between the two writes; the release comes last so the ticket is never free while the order is live).
   */
  async settle(orderId: string, outcome: Outcome): Promise<Order | null> {
    const { latest } = await this.stores.orders.decide(orderId, (order) =>
      order ? settle(order, outcome) : undefined,
    );
    if (latest?.status === 'cancelled' && !latest.abandoned) {
      await this.releaseTicket(latest.ticket.id, orderId, latest.userId);
    }
    return latest;
  }

  /**
   * Completes a paid order, but only once the tickets service has reserved its ticket for it (price authority):
   * until then the payment is held back ({@link OutOfOrderError}). An order that ended meanwhile stays as it is
   * (a payment of a cancelled order is refunded by the payments service).
   */
  async completePaid(orderId: string): Promise<void> {
    const { orders, tickets } = this.stores;
    await orders.decide(orderId, async (order) => {
      // Payments charges only orders it learned from order.created, so an unknown one was never placed here.
      if (!order || order.abandoned) throw new PoisonMessageError(`order ${orderId} does not exist`);
      if (order.status !== 'created') return undefined;
      // The reservation is usually confirmed already; when the payment overtook it, wait for it here (woken by
      // the replica's change) rather than hand the payment back for a redelivery.
      const confirmed = (copy: VersionedTicketCopy | null) => copy?.orderId === orderId;
      const known = await tickets.peek(order.ticket.id);
      const ticket = confirmed(known)
        ? known
        : await tickets.waitFor(order.ticket.id, confirmed, { timeoutMs: this.rules.confirmWaitMs });
      if (ticket?.orderId !== orderId) {
        throw new OutOfOrderError(
          undefined,
          1,
          `tickets has not reserved ${order.ticket.id} for ${orderId} yet`,
        );
      }
      return settle(order, { status: 'complete' });
    });
  }

  /** Gives the ticket back if, and only if, `orderId` holds it; its buyer then waits before taking it again. */
  private async releaseTicket(ticketId: string, orderId: string, userId: string): Promise<void> {
    const now = Date.now();
    await this.stores.reservations.decide(ticketId, (reservation) => {
      const state = releasedBy(reservation, orderId, userId, now + this.rules.reorderCooldownMs, now);
      return state && { state };
    });
  }

  /**
   * The buyer without the orders that settled since they were added; 409 when that still leaves as many unpaid
   * orders as allowed. Only a full list is looked into, so a buyer below the limit costs no reads.
   */
  private async admitted(userId: string, buyer: BuyerState | null): Promise<BuyerState | null> {
    if (!buyer || buyer.orders.length < this.rules.maxLiveOrders) return buyer;
    const { orders } = this.stores;
    const unpaid = new Set((await orders.find({ userId, status: 'created' })).map((order) => order._id));
    // A placement moments ago may not show in the query yet: those are looked at one by one.
    const placingSince = Date.now() - this.rules.claimGraceMs;
    for (const { id, at } of buyer.orders) {
      if (unpaid.has(id) || at <= placingSince) continue;
      const order = await orders.get(id);
      if (!order || order.status === 'created') unpaid.add(id);
    }
    const live = stillUnpaid(buyer, unpaid);
    if (live.orders.length >= this.rules.maxLiveOrders) {
      throw new ConflictError(
        `You already hold ${this.rules.maxLiveOrders} unpaid orders; pay or cancel one first`,
        'ticketId',
      );
    }
    return live;
  }

  /**
   * True when a claim no longer protects anything: its placement died (no order after the grace period; a
   * placeholder then takes the order's id, so a placement that was only slow cannot complete), or its order was
   * cancelled, even if the cancellation died before it released the ticket.
   */
  private async canTakeOver(ticketId: string, claim: Reservation): Promise<boolean> {
    const { orders } = this.stores;
    const holderId = claim.orderId!;
    const holder = await orders.get(holderId);
    if (holder) return holder.status === 'cancelled';
    // A placement in progress and a dead one look the same here; only the claim's age tells them apart.
    if (Date.now() - claim.claimedAt < this.rules.claimGraceMs) return false;
    try {
      await orders.create(holderId, placeholderOrder(ticketId));
      this.logger.warn({ orderId: holderId, ticketId }, 'voided the order id of a dead placement');
      return true;
    } catch (error) {
      if (!(error instanceof AggregateExistsError)) throw error;
      // The slow placement wrote its order after all.
      return (await orders.get(holderId))?.status === 'cancelled';
    }
  }
}
