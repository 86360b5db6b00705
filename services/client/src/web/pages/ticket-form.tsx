import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { FormAlert, Page } from '../components/page';
import { TextField } from '../components/text-field';
import { ApiError, api, type Ticket } from '../lib/api';
import { useSession } from '../lib/session';

const fields = ['title', 'price'] as const;

/** Why a reserved ticket cannot be edited, said before the seller tries and again if the API answers 409. */
const RESERVED =
  'A buyer has reserved this ticket, so it cannot be changed now. If the reservation ends unpaid, you can edit it again.';

/** Sell a ticket (no `id`) or edit one of yours: title and price, the API's errors next to their fields. */
export function TicketFormPage({ id }: { id?: string }) {
  const { user } = useSession();
  const { route } = useLocation();
  const [title, setTitle] = useState('');
  const [price, setPrice] = useState('');
  const [ticket, setTicket] = useState<Ticket | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const editing = id !== undefined;

  useEffect(() => {
    if (!id) return;
    api<Ticket>('GET', `/api/tickets/${id}`).then(
      ({ body }) => {
        setTicket(body);
        setTitle(body.title);
        setPrice(body.price.toFixed(2));
      },
      (caught: unknown) => setError(caught as ApiError),
    );
  }, [id]);

  if (user === null) {
    return (
      <Page title={editing ? 'Edit ticket' : 'Sell a ticket'}>
        <p>
          <a href={`/signin?next=${encodeURIComponent(editing ? `/tickets/${id}/edit` : '/tickets/new')}`}>
            Sign in
          </a>{' '}
          to sell tickets.
        </p>
      </Page>
    );
  }

  const reserved = Boolean(ticket?.orderId);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = { title, price, ...(ticket ? { version: ticket.version } : {}) };
      const answer = editing
        ? await api<Ticket>('PUT', `/api/tickets/${id}`, body)
        : await api<Ticket>('POST', '/api/tickets', body);
      route(`/tickets/${answer.body.id}`);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 409) {
        const stale = caught.errors.some((e) => e.field === 'version');
        setError(
          new ApiError(409, [
            {
              message: stale
                ? 'This ticket changed since you opened it (maybe a buyer reserved it). Reload the page to see it as it is now.'
                : RESERVED,
            },
          ]),
        );
      } else {
        setError(caught instanceof ApiError ? caught : new ApiError(0, [{ message: String(caught) }]));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title={editing ? 'Edit ticket' : 'Sell a ticket'}>
      <form class="form narrow" onSubmit={submit} noValidate>
        {reserved && <p class="notice">{RESERVED}</p>}
        <FormAlert messages={error?.general(fields) ?? []} />
        <TextField
          name="title"
          label="Title"
          hint="The event, e.g. “Jazz night, row 4”."
          required
          value={title}
          onInput={setTitle}
          error={error?.forField('title')}
        />
        <TextField
          name="price"
          label="Price (USD)"
          hint="For example 25 or 25.50."
          inputMode="decimal"
          required
          value={price}
          onInput={setPrice}
          error={error?.forField('price')}
        />
        <button type="submit" class="button" disabled={busy}>
          {editing ? 'Save changes' : 'List ticket'}
        </button>
      </form>
    </Page>
  );
}
