import { z } from 'zod';
import { webhookEventTypes } from '../domain/webhooks';

const eventTypeSchema = z.enum(webhookEventTypes).meta({
  description:
    '`ticket.reserved`, `ticket.sold`, `ticket.relisted` (to the ticket’s seller); `order.created`, `order.completed`, `order.cancelled`, `order.expiring` (to the order’s buyer)',
});

export const newWebhookBodySchema = z.object({
  url: z.string().max(2048, 'must be at most 2048 characters').meta({
    description: 'Where events are POSTed: https (http only where the service allows it), a public address',
  }),
  events: z
    .array(eventTypeSchema)
    .min(1, 'must name at least one event')
    .max(webhookEventTypes.length * 2),
});

/** Path parameters; any string, an id that names nothing of the caller’s is a 404. */
export const webhookParamsSchema = z.object({ id: z.string().meta({ description: 'Webhook id (24 hex)' }) });
export const deliveryParamsSchema = webhookParamsSchema.extend({
  deliveryId: z.string().meta({ description: 'Delivery id (24 hex)' }),
});

export const webhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(eventTypeSchema),
    status: z.enum(['active', 'paused']).meta({
      description:
        '`paused` after failing for WEBHOOK_PAUSE_AFTER_SECONDS: probed until it answers 2xx again',
    }),
    createdAt: z.iso.datetime(),
    failingSince: z.iso.datetime().optional(),
  })
  .strict();

/** The 10-line receiver the README shows too. */
const verificationExample = [
  'Verify each POST before trusting it (Node):',
  '```js',
  "const { createHmac, timingSafeEqual } = require('node:crypto');",
  'function verify(secret, header, rawBody, toleranceSeconds = 300) {',
  "  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=')));",
  '  const t = Number(parts.t);',
  '  if (!(Math.abs(Date.now() / 1000 - t) <= toleranceSeconds)) return false;',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the receiver's code, shown as text
  "  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();",
  "  const given = Buffer.from(parts.v1 ?? '', 'hex');",
  '  return given.length === expected.length && timingSafeEqual(given, expected);',
  '}',
  '```',
  'Headers: `Ticketing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` and `Ticketing-Event-Id` (the same on every attempt: drop what you handled already). Body: `{id, type, createdAt, data}`.',
].join('\n');

export const createdWebhookSchema = webhookSchema
  .extend({ secret: z.string().meta({ description: 'The HMAC key of the signatures; shown this once' }) })
  .strict()
  .meta({ description: verificationExample });

export const webhookListSchema = z.array(webhookSchema);

export const deliverySchema = z
  .object({
    id: z.string(),
    eventId: z.string(),
    type: eventTypeSchema,
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int().nonnegative(),
    createdAt: z.iso.datetime().meta({ description: 'When the event happened' }),
    nextAttemptAt: z.iso.datetime().optional().meta({ description: 'Next try, while pending' }),
    lastStatusCode: z.number().int().optional(),
    lastError: z.string().optional(),
    lastResponseBody: z.string().optional().meta({ description: 'The first 1 KB of the last response' }),
    lastDurationMs: z.number().int().nonnegative().optional(),
  })
  .strict();

export const deliveryListSchema = z.array(deliverySchema);
