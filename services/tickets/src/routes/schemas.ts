import { NotFoundError, objectIdSchema, versionSchema } from '@ticketing/common';
import { z } from 'zod';
import { priceInputSchema } from '../price';

/** A title: trimmed, then 1-200 characters. */
export const titleSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters');

/** Body of POST /api/tickets. */
export const createTicketBodySchema = z.object({ title: titleSchema, price: priceInputSchema });

/** Body of PUT /api/tickets/:id: the full new state, optionally with the version the client last saw. */
export const updateTicketBodySchema = z.object({
  title: titleSchema,
  price: priceInputSchema,
  /** When given, the update applies only to this version (409 otherwise): the client's optimistic lock. */
  version: versionSchema.optional(),
});

/** A parsed create body (price in cents). */
export type CreateTicketBody = z.output<typeof createTicketBodySchema>;
/** A parsed update body (price in cents). */
export type UpdateTicketBody = z.output<typeof updateTicketBodySchema>;

/** The ticket id of a URL; anything that is not an ObjectId names no ticket, so it is a 404, not a 500. */
export function ticketIdFrom(raw: unknown): string {
  const parsed = objectIdSchema.safeParse(raw);
  if (!parsed.success) throw new NotFoundError('Ticket not found');
  return parsed.data;
}
