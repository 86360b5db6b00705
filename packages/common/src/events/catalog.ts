import { z } from 'zod';
import { priceSchema } from './price';
import { titleSchema } from './title';

/** A Mongo ObjectId as a 24-hex string: every aggregate id on the bus is one. */
export const objectIdSchema = z.string().regex(/^[a-f0-9]{24}$/, 'must be a 24-character hex id');

/** The version of an aggregate: 0 when created, +1 on each change. */
export const versionSchema = z.number().int().nonnegative();

/** Order status values: `created` → `complete` | `cancelled`. */
export const orderStatusSchema = z.enum(['created', 'cancelled', 'complete']);

/**
 * Why an order was cancelled: its reservation ran out, its buyer cancelled it, or the tickets service refused to
 * reserve the ticket at the order's price (the seller had changed it).
 */
export const cancelReasonSchema = z.enum(['expired', 'buyer_cancelled', 'price_changed']);

/** The currencies prices are in (payments charge in it; events that carry a price may name it). */
export const currencySchema = z.enum(['usd']);

/** The streams, one per owning service plus the dead-letter stream. */
export const streamNames = ['TICKETS', 'ORDERS', 'PAYMENTS', 'EXPIRATION', 'USERS', 'DLQ'] as const;
/** Name of one stream. */
export type StreamName = (typeof streamNames)[number];

/** One entry of the catalog: where an event lives and what its payload must look like. */
export interface EventDefinition<Schema extends z.ZodType = z.ZodType> {
  /** The stream that stores this subject. */
  stream: Exclude<StreamName, 'DLQ'>;
  /** Version of the payload schema, sent in a header so consumers can tell shapes apart. */
  schemaVersion: number;
  /** Runtime schema of the current version; the TypeScript type of the payload is inferred from it. */
  schema: Schema;
  /**
   * For each earlier version v, how a payload of version v becomes one of version v+1: a consumer reads every
   * version a stream holds, upcast to the current one before `schema` checks it (see parseEventData).
   */
  upcasters?: Readonly<Record<number, (payload: Record<string, unknown>) => Record<string, unknown>>>;
}

function defineEvent<Schema extends z.ZodType>(definition: EventDefinition<Schema>): EventDefinition<Schema> {
  return definition;
}

/**
 * The events of the system, each defined once. Adding an event is one entry here: its type,
 * schema, stream and headers follow from it everywhere.
 */
export const eventCatalog = {
  // v2 names the currency of the price; v1 payloads (older history) were all in US dollars.
  'ticket.created': defineEvent({
    stream: 'TICKETS',
    schemaVersion: 2,
    schema: z.object({
      id: objectIdSchema,
      version: versionSchema,
      title: titleSchema,
      price: priceSchema,
      currency: currencySchema.default('usd'),
      userId: objectIdSchema,
    }),
    upcasters: { 1: (v1) => ({ ...v1, currency: 'usd' }) },
  }),
  'ticket.updated': defineEvent({
    stream: 'TICKETS',
    schemaVersion: 1,
    schema: z.object({
      id: objectIdSchema,
      version: versionSchema,
      title: titleSchema,
      price: priceSchema,
      userId: objectIdSchema,
      orderId: objectIdSchema.optional(),
    }),
  }),
  // The tickets service would not reserve the ticket for the order: the ticket's price is no longer the one the
  // order was placed at. Published with the ticket.updated of the same version (the ticket recorded the order).
  'ticket.refused': defineEvent({
    stream: 'TICKETS',
    schemaVersion: 1,
    schema: z.object({
      id: objectIdSchema,
      version: versionSchema,
      orderId: objectIdSchema,
      reason: z.literal('price_changed'),
      price: priceSchema,
    }),
  }),
  'order.created': defineEvent({
    stream: 'ORDERS',
    schemaVersion: 1,
    schema: z.object({
      id: objectIdSchema,
      version: versionSchema,
      userId: objectIdSchema,
      status: orderStatusSchema,
      expiresAt: z.iso.datetime({ offset: true }),
      // The price the buyer agreed to, and the version of the ticket it was read from (absent in early events).
      ticket: z.object({ id: objectIdSchema, price: priceSchema, version: versionSchema.optional() }),
    }),
  }),
  'order.cancelled': defineEvent({
    stream: 'ORDERS',
    schemaVersion: 1,
    schema: z.object({
      id: objectIdSchema,
      version: versionSchema,
      ticket: z.object({ id: objectIdSchema }),
      reason: cancelReasonSchema.optional(),
    }),
  }),
  'order.completed': defineEvent({
    stream: 'ORDERS',
    schemaVersion: 1,
    schema: z.object({
      id: objectIdSchema,
      version: versionSchema,
      ticket: z.object({ id: objectIdSchema }),
    }),
  }),
  'payment.created': defineEvent({
    stream: 'PAYMENTS',
    schemaVersion: 1,
    schema: z.object({
      id: objectIdSchema,
      version: versionSchema,
      orderId: objectIdSchema,
      chargeId: z.string().min(1).max(255),
    }),
  }),
  'expiration.complete': defineEvent({
    stream: 'EXPIRATION',
    schemaVersion: 1,
    schema: z.object({ orderId: objectIdSchema, version: versionSchema }),
  }),
  // The account was deleted: every service forgets or pseudonymizes what it holds about the user (erasure).
  'user.deleted': defineEvent({
    stream: 'USERS',
    schemaVersion: 1,
    schema: z.object({ id: objectIdSchema, version: versionSchema }),
  }),
} as const;

/** A subject of the catalog, e.g. `ticket.created`. */
export type Subject = keyof typeof eventCatalog;

/** The payload type of a subject, inferred from its runtime schema. */
export type EventData<S extends Subject> = z.infer<(typeof eventCatalog)[S]['schema']>;

/** What a publisher may give for a payload: fields with a default (added in a later version) may be left out. */
export type EventDataInput<S extends Subject> = z.input<(typeof eventCatalog)[S]['schema']>;

/** Every subject of the catalog. */
export const subjects = Object.keys(eventCatalog) as Subject[];

/** True when `value` names an event of the catalog. */
export function isSubject(value: string): value is Subject {
  return Object.hasOwn(eventCatalog, value);
}

/** The subjects a stream stores: the subjects of its events, and `dlq.>` for the dead-letter stream. */
export function streamSubjects(stream: StreamName): string[] {
  if (stream === 'DLQ') return ['dlq.>'];
  return subjects.filter((subject) => eventCatalog[subject].stream === stream);
}

/** The dead-letter subject for a message a service could not handle. */
export function deadLetterSubject(service: string, subject: string): string {
  return `dlq.${service}.${subject}`;
}
