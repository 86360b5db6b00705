import {
  type ApiRouter,
  type ChangeDocument,
  centsToPrice,
  errorBodySchema,
  ForbiddenError,
  NotFoundError,
  objectIdSchema,
  priceSchema,
  titleSchema,
  versionSchema,
} from '@ticketing/common';
import { z } from 'zod';
import type { TicketState, TicketStore } from '../domain/ticket';
import { ticketIdFrom, ticketParamsSchema } from './schemas';

const eventRefSchema = z
  .object({ subject: z.string(), id: z.string() })
  .strict()
  .meta({ description: 'An event the version published: its subject and id (`Nats-Msg-Id`)' });

/** What a version set, in the API's terms (price in major units; `orderId: null` when the ticket was released). */
const ticketChangesSchema = z
  .object({
    title: titleSchema.optional(),
    price: priceSchema.optional(),
    userId: objectIdSchema.optional(),
    orderId: objectIdSchema.nullable().optional(),
    sold: z.boolean().optional(),
  })
  .strict()
  .meta({ description: 'The fields this version changed, with their new values (every field at version 0)' });

export const ticketHistorySchema = z
  .array(
    z
      .object({
        version: versionSchema,
        at: z.iso.datetime().meta({ description: 'When the version was written' }),
        changes: ticketChangesSchema,
        event: eventRefSchema
          .nullable()
          .meta({ description: 'The event the version published; null for a version that published none' }),
        events: z
          .array(eventRefSchema)
          .meta({ description: 'Every event it published, in order (a refusal adds ticket.refused)' }),
      })
      .strict(),
  )
  .meta({ description: "A ticket's versions, oldest first" });

type TicketChanges = z.output<typeof ticketChangesSchema>;

function fieldsOf(state: Partial<TicketState>): TicketChanges {
  return {
    title: state.title,
    price: state.priceCents === undefined ? undefined : centsToPrice(state.priceCents),
    userId: state.userId,
    orderId: state.orderId,
    sold: state.sold,
  };
}

/** The fields that differ from the version before (all of them for the first). */
function changesBetween(previous: TicketChanges | undefined, current: TicketChanges): TicketChanges {
  const changes: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(current)) {
    if (value === undefined) continue;
    if (!previous || previous[field as keyof TicketChanges] !== value) changes[field] = value;
  }
  return changes as TicketChanges;
}

/** The history as the API shows it, from the store's change log. */
export function historyView(changes: ChangeDocument[]): z.output<typeof ticketHistorySchema> {
  let previous: TicketChanges | undefined;
  return changes.map((change) => {
    const fields = fieldsOf(change.state as Partial<TicketState>);
    const events = change.events.map((event) => ({ subject: event.subject, id: event.id }));
    const entry = {
      version: change.version,
      at: new Date(change.at).toISOString(),
      changes: changesBetween(previous, fields),
      event: events[0] ?? null,
      events,
    };
    previous = fields;
    return entry;
  });
}

/**
 * GET /api/tickets/:id/history → every version of the ticket, oldest first: what it changed, when, and the event
 * it published; read from the store's change log (each version is one change document). Owner only.
 */
export function ticketHistoryRoute(api: ApiRouter, tickets: TicketStore): void {
  api.route({
    method: 'get',
    path: '/api/tickets/:id/history',
    operationId: 'ticketHistory',
    summary: 'Every version of one of my tickets',
    auth: 'required',
    params: ticketParamsSchema,
    responses: {
      200: { description: 'The versions, oldest first', schema: ticketHistorySchema },
      403: { description: 'Not your ticket', schema: errorBodySchema },
      404: {
        description: 'No such ticket (also for an id that is not an ObjectId)',
        schema: errorBodySchema,
      },
    },
    handler: async (req, res) => {
      const id = ticketIdFrom(req.params.id);
      const ticket = await tickets.get(id);
      if (!ticket) throw new NotFoundError('Ticket not found');
      if (ticket.userId !== req.currentUser!.id) throw new ForbiddenError('Not your ticket');
      res.status(200).json(historyView(await tickets.history(id)));
    },
  });
}
