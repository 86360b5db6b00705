import { objectIdSchema } from '@ticketing/common';
import { z } from 'zod';

/** Body of `POST /api/payments`: the order to pay and the card token collected by the client (Stripe.js). */
export const newPaymentBodySchema = z.object({
  orderId: objectIdSchema.meta({ description: 'The order to pay (yours, neither cancelled nor paid)' }),
  token: z
    .string()
    .max(255, 'must be at most 255 characters')
    .regex(/^\S+$/, 'must be a card token without spaces')
    .meta({ description: 'Card token, e.g. `tok_visa` (Stripe test mode)' }),
});

export const paymentCreatedSchema = z
  .object({ id: objectIdSchema.meta({ description: 'The payment id' }) })
  .strict()
  .meta({ description: 'The recorded payment' });
