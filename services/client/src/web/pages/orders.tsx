import { useCallback, useEffect, useState } from 'preact/hooks';
import { FormAlert, Page } from '../components/page';
import { ApiError, api, type Order } from '../lib/api';
import { formatPrice } from '../lib/format';
import { useLiveEvents } from '../lib/live';
import { useSession } from '../lib/session';

/** What a person reads for an order's status. */
export function statusLabel(order: Order, now = Date.now()): string {
  if (order.status === 'complete') return 'Paid';
  if (order.status === 'cancelled')
    return Date.parse(order.expiresAt) <= now + 2000 ? 'Expired' : 'Cancelled';
  return Date.parse(order.expiresAt) <= now ? 'Expiring' : 'Awaiting payment';
}

/** My orders with their status, kept current by the orders service's live updates. */
export function OrdersPage() {
  const { user } = useSession();
  const [orders, setOrders] = useState<Order[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const load = useCallback(async () => {
    try {
      setOrders((await api<Order[]>('GET', '/api/orders')).body);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught));
    }
  }, []);
  useEffect(() => {
    if (user) void load();
  }, [user, load]);
  useLiveEvents(
    user ? '/api/orders/updates' : undefined,
    ['order.created', 'order.cancelled', 'order.completed'],
    () => {
      void load();
    },
  );

  if (user === null) {
    return (
      <Page title="My orders">
        <p>
          <a href="/signin?next=%2Forders">Sign in</a> to see your orders.
        </p>
      </Page>
    );
  }
  return (
    <Page title="My orders">
      <FormAlert messages={error ? [error] : []} />
      {!orders ? (
        <p aria-busy="true">Loading…</p>
      ) : orders.length === 0 ? (
        <p class="empty">
          No orders yet. <a href="/">Find a ticket</a>.
        </p>
      ) : (
        <table class="orders">
          <caption class="visually-hidden">Your orders, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Ticket</th>
              <th scope="col">Price</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {orders.map((order) => (
              <tr key={order.id} data-order-id={order.id}>
                <td>
                  <a href={`/orders/${order.id}`}>{order.ticket.title}</a>
                </td>
                <td>{formatPrice(order.ticket.price)}</td>
                <td>
                  <span class={`badge badge-${order.status}`}>{statusLabel(order)}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
