import { useCallback, useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { FormAlert, Page } from '../components/page';
import { ApiError, api, type Ticket } from '../lib/api';
import { formatPrice } from '../lib/format';
import { afterCursor, nextLink } from '../lib/link-header';
import { type LiveEvent, useLiveEvents } from '../lib/live';

/** Tickets per page. */
const PAGE_SIZE = 20;

interface Listing {
  tickets: Ticket[];
  /** The cursor of the next page, from the answer's `Link: <…>; rel="next"`. */
  next?: string;
}

/** Applies one live event to the page: a reserved or sold ticket leaves, a listed or relisted one joins. */
export function applyTicketEvent(listing: Listing, event: LiveEvent, pageEnd: string | undefined): Listing {
  const ticket = event.data as unknown as Ticket;
  const others = listing.tickets.filter((t) => t.id !== ticket.id);
  if (ticket.orderId) return { ...listing, tickets: others };
  // The list is in id order; a ticket past this page's end belongs to a later page.
  if (listing.next && pageEnd !== undefined && ticket.id > pageEnd) return listing;
  const tickets = [...others, ticket].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { ...listing, tickets };
}

/** The tickets on sale, page by page, kept current by the tickets service's live updates. */
export function TicketsPage() {
  const { query, route } = useLocation();
  const after = query.after;
  const [listing, setListing] = useState<Listing | undefined>();
  const [pageEnd, setPageEnd] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [announcement, setAnnouncement] = useState('');

  const load = useCallback(async () => {
    setError(undefined);
    try {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (after) params.set('after', after);
      const answer = await api<Ticket[]>('GET', `/api/tickets?${params}`);
      const next = afterCursor(nextLink(answer.headers.get('link')));
      setListing({ tickets: answer.body, next });
      setPageEnd(answer.body.at(-1)?.id);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught));
    }
  }, [after]);

  useEffect(() => {
    void load();
  }, [load]);

  useLiveEvents('/api/tickets/updates', ['ticket.created', 'ticket.updated'], (event) => {
    setListing((current) => {
      if (!current) return current;
      const updated = applyTicketEvent(current, event, pageEnd);
      if (updated.tickets.length !== current.tickets.length)
        setAnnouncement(`${updated.tickets.length} tickets on sale on this page`);
      return updated;
    });
  });

  return (
    <Page title="Tickets on sale">
      <FormAlert messages={error ? [error] : []} />
      <p class="visually-hidden" role="status">
        {announcement}
      </p>
      {!listing ? (
        <p aria-busy="true">Loading tickets…</p>
      ) : listing.tickets.length === 0 ? (
        <p class="empty">
          No tickets on sale right now. <a href="/tickets/new">Sell one</a>?
        </p>
      ) : (
        <ul class="ticket-list" aria-label="Tickets on sale">
          {listing.tickets.map((ticket) => (
            <li key={ticket.id} class="ticket-card" data-ticket-id={ticket.id}>
              <a href={`/tickets/${ticket.id}`} class="ticket-title">
                {ticket.title}
              </a>
              <span class="price">{formatPrice(ticket.price)}</span>
            </li>
          ))}
        </ul>
      )}
      <nav class="pager" aria-label="Pages of tickets">
        {after && <a href="/">First page</a>}
        {listing?.next && (
          <button
            type="button"
            class="button-quiet"
            onClick={() => route(`/?after=${encodeURIComponent(listing.next!)}`)}
          >
            Next page
          </button>
        )}
      </nav>
    </Page>
  );
}
