import {
  cancelReasonSchema,
  objectIdSchema,
  orderStatusSchema,
  priceSchema,
  titleSchema,
  versionSchema,
} from '@ticketing/common';
import { z } from 'zod';

export const newOrderBodySchema = z.object({ ticketId: objectIdSchema });

/**
 * Path parameters of /api/orders/:id. Any string: an id that is not an ObjectId names no order, which the
 * handler answers with 404, not a 400.
 */
export const orderParamsSchema = z.object({ id: z.string().meta({ description: 'Order id (24 hex)' }) });

/** Query of GET /api/orders/:id: optionally wait for the order to reach a status (or to end another way). */
export const showOrderQuerySchema = z.object({
  waitFor: orderStatusSchema.optional().meta({
    description: 'Answer once the order has this status or has ended otherwise (or when `timeout` is up)',
  }),
  timeout: z.coerce
    .number({ error: 'must be a number of seconds from 0 to 30' })
    .min(0, 'must be a number of seconds from 0 to 30')
    .max(30, 'must be a number of seconds from 0 to 30')
    .default(5)
    .meta({ description: 'Longest wait for `waitFor`, in seconds (default 5, at most 30)' }),
});

/** The ticket inside an order, as it was when the order was placed. */
export const orderTicketSchema = z
  .object({ id: objectIdSchema, title: titleSchema, price: priceSchema })
  .strict()
  .meta({ description: 'The ticket as ordered: its price is what the buyer pays' });

export const orderSchema = z
  .object({
    id: objectIdSchema,
    userId: objectIdSchema,
    status: orderStatusSchema,
    expiresAt: z.iso.datetime().meta({ description: 'End of the reservation unless paid' }),
    version: versionSchema,
    ticket: orderTicketSchema,
    cancelReason: cancelReasonSchema.optional().meta({
      description:
        'Why a cancelled order was cancelled: `expired`, `buyer_cancelled`, or `price_changed` (the seller had changed the price before the tickets service reserved the ticket; any payment is refunded)',
    }),
  })
  .strict()
  .meta({ description: 'An order' });

/** Answer of GET /api/orders: a page of the caller's orders, oldest first. */
export const orderListSchema = z.array(orderSchema);
