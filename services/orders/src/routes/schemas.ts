import {
  objectIdSchema,
  orderStatusSchema,
  priceSchema,
  titleSchema,
  versionSchema,
} from '@ticketing/common';
import { z } from 'zod';

/** Body of POST /api/orders. */
export const newOrderBodySchema = z.object({ ticketId: objectIdSchema });

/** A parsed POST /api/orders body. */
export type NewOrderBody = z.output<typeof newOrderBodySchema>;

/**
 * Path parameters of /api/orders/:id. Any string: an id that is not an ObjectId names no order, which the
 * handler answers with 404, not a 400.
 */
export const orderParamsSchema = z.object({ id: z.string().meta({ description: 'Order id (24 hex)' }) });

/** The ticket inside an order, as it was when the order was placed (OrderTicket). */
export const orderTicketSchema = z
  .object({ id: objectIdSchema, title: titleSchema, price: priceSchema })
  .strict()
  .meta({ description: 'The ticket as ordered: its price is what the buyer pays' });

/** An order as every answer shows it (OrderResponse). */
export const orderSchema = z
  .object({
    id: objectIdSchema,
    userId: objectIdSchema,
    status: orderStatusSchema,
    expiresAt: z.iso.datetime().meta({ description: 'End of the reservation unless paid' }),
    version: versionSchema,
    ticket: orderTicketSchema,
  })
  .strict()
  .meta({ description: 'An order' });

/** Answer of GET /api/orders: the caller's orders, oldest first. */
export const orderListSchema = z.array(orderSchema);
