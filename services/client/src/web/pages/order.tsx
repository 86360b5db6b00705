import { useCallback, useEffect, useState } from 'preact/hooks';
import { FormAlert, Page, Status } from '../components/page';
import { ApiError, api, type Order } from '../lib/api';
import type { ShopConfig } from '../lib/config';
import { formatPrice, formatRemaining } from '../lib/format';
import { useLiveEvents } from '../lib/live';
import { PayForm } from './pay-form';

/** Re-renders every second while `active`, returning the current time. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

/** One of my orders: the reservation countdown, paying, cancelling, and its outcome, updated live. */
export function OrderPage({ id, config }: { id: string; config: ShopConfig }) {
  const [order, setOrder] = useState<Order | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [cancelling, setCancelling] = useState(false);
  const load = useCallback(async () => {
    try {
      setOrder((await api<Order>('GET', `/api/orders/${id}`)).body);
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 404
          ? 'There is no such order.'
          : (caught as Error).message,
      );
    }
  }, [id]);
  useEffect(() => {
    void load();
  }, [load]);
  useLiveEvents('/api/orders/updates', ['order.cancelled', 'order.completed'], (event) => {
    if (event.data.id === id) void load();
  });

  const open = order?.status === 'created';
  const now = useNow(open);
  const left = order ? Date.parse(order.expiresAt) - now : 0;
  // The countdown is the browser's; the expiry is the server's: ask once the time is up, until it says so.
  useEffect(() => {
    if (!open || left > 0) return;
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, [open, left <= 0, load]);

  const cancel = async () => {
    setCancelling(true);
    setError(undefined);
    try {
      await api('DELETE', `/api/orders/${id}`);
      await load();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught));
    } finally {
      setCancelling(false);
    }
  };

  if (!order) {
    return (
      <Page title="Order">
        <FormAlert messages={error ? [error] : []} />
        {!error && <p aria-busy="true">Loading…</p>}
      </Page>
    );
  }
  // The API does not say why an order was cancelled; one cancelled at (or a moment before, by this browser's
  // clock) the end of its reservation expired.
  const expired = order.status === 'cancelled' && Date.parse(order.expiresAt) <= Date.now() + 2000;
  return (
    <Page title={`Order: ${order.ticket.title}`}>
      <p class="price-large">{formatPrice(order.ticket.price)}</p>
      <FormAlert messages={error ? [error] : []} />
      {order.status === 'complete' && <Status>Paid. The ticket is yours — enjoy the event!</Status>}
      {order.status === 'cancelled' && (
        <Status>
          {expired
            ? 'This reservation expired before it was paid. The ticket is back on sale.'
            : 'You cancelled this order. The ticket is back on sale.'}
        </Status>
      )}
      {open && (
        <>
          <p class="countdown">
            {left > 0 ? (
              <>
                Reserved for you for{' '}
                <span role="timer" aria-label="Time left to pay">
                  {formatRemaining(left)}
                </span>
              </>
            ) : (
              'Your reservation time is up.'
            )}
          </p>
          {left > 0 && <PayForm order={order} config={config} onPaid={load} />}
          <button type="button" class="button-quiet" onClick={cancel} disabled={cancelling}>
            Cancel order
          </button>
        </>
      )}
      <p class="aside">
        <a href="/orders">All my orders</a>
      </p>
    </Page>
  );
}
