import {
  NotFoundError,
  objectIdSchema,
  priceInputSchema,
  priceSchema,
  titleSchema,
  versionSchema,
} from '@ticketing/common';
import { z } from 'zod';

// The title rules (NFC, trimmed, no control or bidi-control characters, something visible) live once in
// @ticketing/common, beside the ticket events that carry the same title.

export const createTicketBodySchema = z.object({ title: titleSchema, price: priceInputSchema });

/** Body of PUT /api/tickets/:id: the full new state, optionally with the version the client last saw. */
export const updateTicketBodySchema = z.object({
  title: titleSchema,
  price: priceInputSchema,
  /** When given, the update applies only to this version (409 otherwise): the client's optimistic lock. */
  version: versionSchema
    .optional()
    .meta({ description: 'The version the client last saw; the update applies only to it (409 otherwise)' }),
});

/** A parsed create body (price in cents). */
export type CreateTicketBody = z.output<typeof createTicketBodySchema>;
/** A parsed update body (price in cents). */
export type UpdateTicketBody = z.output<typeof updateTicketBodySchema>;

/**
 * Path parameters of /api/tickets/:id. Any string: an id that is not an ObjectId names no ticket, which the
 * handler answers with 404 (see {@link ticketIdFrom}), not a 400.
 */
export const ticketParamsSchema = z.object({ id: z.string().meta({ description: 'Ticket id (24 hex)' }) });

/** A ticket as every answer shows it (TicketView): price in major units, `orderId` only while reserved. */
export const ticketSchema = z
  .object({
    id: objectIdSchema,
    title: titleSchema,
    price: priceSchema,
    userId: objectIdSchema,
    version: versionSchema,
    orderId: objectIdSchema.optional().meta({ description: 'The order holding the ticket, while reserved' }),
  })
  .strict()
  .meta({ description: 'A ticket' });

/** Answer of GET /api/tickets: a page of the tickets on sale, oldest first. */
export const ticketListSchema = z.array(ticketSchema);

/** The ticket id of a URL; anything that is not an ObjectId names no ticket, so it is a 404, not a 500. */
export function ticketIdFrom(raw: unknown): string {
  const parsed = objectIdSchema.safeParse(raw);
  if (!parsed.success) throw new NotFoundError('Ticket not found');
  return parsed.data;
}
