import { z } from 'zod';
import type { ChangeDocument } from './aggregate-store';
import { versionHistory, versionHistorySchema } from './history';

const change = (version: number, state: Record<string, unknown>, subjects: string[]): ChangeDocument => ({
  _id: `a:${version}`,
  aggregateId: 'a',
  version,
  state,
  events: subjects.map((subject, n) => ({ id: `e${version}.${n}`, subject }) as never),
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, version)),
});

it('lists each version with the fields it changed as the view shows them, when, and its events', () => {
  const history = versionHistory(
    [
      change(0, { title: 'Show', cents: 1000 }, ['ticket.created']),
      change(1, { title: 'Show', cents: 1250 }, ['ticket.updated']),
      change(2, { title: 'Show', cents: 1250 }, []),
      change(3, { title: 'Show', cents: 1250, orderId: 'o' }, ['ticket.updated', 'ticket.refused']),
    ],
    (state: { title: string; cents: number; orderId?: string }) => ({
      title: state.title,
      price: state.cents / 100,
      orderId: state.orderId,
    }),
  );
  expect(history).toEqual([
    {
      version: 0,
      at: '2026-01-01T00:00:00.000Z',
      changes: { title: 'Show', price: 10 },
      event: { subject: 'ticket.created', id: 'e0.0' },
      events: [{ subject: 'ticket.created', id: 'e0.0' }],
    },
    expect.objectContaining({ version: 1, changes: { price: 12.5 } }),
    { version: 2, at: '2026-01-01T00:00:02.000Z', changes: {}, event: null, events: [] },
    expect.objectContaining({
      version: 3,
      changes: { orderId: 'o' },
      events: [
        { subject: 'ticket.updated', id: 'e3.0' },
        { subject: 'ticket.refused', id: 'e3.1' },
      ],
    }),
  ]);
  const schema = versionHistorySchema(z.object({ title: z.string(), price: z.number() }).partial().strict());
  expect(schema.parse(history.slice(0, 3).map((v) => ({ ...v, changes: v.changes })))).toHaveLength(3);
});
