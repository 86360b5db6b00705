import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { FormAlert, Page } from '../components/page';
import { ApiError, api, type Order, purchaseTrace, type Ticket } from '../lib/api';
import { formatPrice } from '../lib/format';
import { useLiveEvents } from '../lib/live';
import { useSession } from '../lib/session';

/** One ticket: buy it, or edit it when it is yours. */
export function TicketPage({ id }: { id: string }) {
  const { user } = useSession();
  const { route } = useLocation();
  const [ticket, setTicket] = useState<Ticket | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<Ticket>('GET', `/api/tickets/${id}`).then(
      ({ body }) => setTicket(body),
      (caught: unknown) =>
        setError(
          caught instanceof ApiError && caught.status === 404
            ? 'There is no such ticket.'
            : String((caught as Error).message),
        ),
    );
  }, [id]);

  useLiveEvents('/api/tickets/updates', ['ticket.updated'], (event) => {
    if (event.data.id === id) setTicket(event.data as unknown as Ticket);
  });

  const buy = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api<Order>('POST', '/api/orders', { ticketId: id });
      purchaseTrace.remember(answer.body.id, answer);
      route(`/orders/${answer.body.id}`);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught));
      setBusy(false);
    }
  };

  if (!ticket) {
    return (
      <Page title="Ticket">
        <FormAlert messages={error ? [error] : []} />
        {!error && <p aria-busy="true">Loading…</p>}
      </Page>
    );
  }
  const mine = user?.id === ticket.userId;
  return (
    <Page title={ticket.title}>
      <p class="price-large">{formatPrice(ticket.price)}</p>
      <p data-testid="ticket-state">{ticket.orderId ? 'Reserved by a buyer.' : 'On sale.'}</p>
      <FormAlert messages={error ? [error] : []} />
      {mine ? (
        <p>
          This is your ticket. <a href={`/tickets/${ticket.id}/edit`}>Edit it</a>
        </p>
      ) : user ? (
        <button type="button" class="button" onClick={buy} disabled={busy || Boolean(ticket.orderId)}>
          Buy for {formatPrice(ticket.price)}
        </button>
      ) : user === null ? (
        <p>
          <a href={`/signin?next=${encodeURIComponent(`/tickets/${id}`)}`}>Sign in</a> to buy this ticket.
        </p>
      ) : null}
    </Page>
  );
}
