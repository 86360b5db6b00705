import type { Response } from 'express';
import { z } from 'zod';
import { objectIdSchema } from '../events/catalog';

/** The query of a paged list: up to `limit` (1-100, default 50) items after the item `after`, oldest first. */
export const pageQuerySchema = z.object({
  limit: z.coerce
    .number({ error: 'must be a whole number from 1 to 100' })
    .int('must be a whole number from 1 to 100')
    .min(1, 'must be a whole number from 1 to 100')
    .max(100, 'must be a whole number from 1 to 100')
    .default(50)
    .meta({ description: 'Page size, 1-100 (default 50)' }),
  after: objectIdSchema.optional().meta({
    description: 'The id of the last item of the previous page (what its `Link: rel="next"` carries)',
  }),
});

/** A parsed page query. */
export type PageQuery = z.output<typeof pageQuerySchema>;

/** The `Link` header a paged answer documents. */
export const nextPageHeader = {
  Link: {
    description: 'RFC 8288 link to the next page (`rel="next"`), present while there are more',
    schema: z.string(),
  },
};

/**
 * Sets `Link: <path?limit=…&after=…>; rel="next"` when there is a next page (RFC 8288); the body of a paged list
 * stays a plain JSON array, which clients written for an unpaged API keep reading.
 */
export function linkNextPage(res: Response, path: string, limit: number, next: string | undefined): void {
  if (next) res.setHeader('Link', `<${path}?limit=${limit}&after=${next}>; rel="next"`);
}
