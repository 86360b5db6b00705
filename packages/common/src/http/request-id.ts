import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { runWithContext } from '../context';

/** The header a request id arrives in (from the gateway or a caller) and is echoed back in. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

// Ids end up in logs, headers and event metadata: only short, plain tokens are trusted from outside.
const SANE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The caller's request id if it is a sane token (≤128 chars of letters, digits, `_.:-`), else a fresh UUID. */
export function requestIdFrom(header: unknown): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * Gives each request an id (`req.id`, echoed in `X-Request-Id`) and runs the rest of the request inside a work
 * context whose correlation id is that id, so logs and outbox events of this request carry it.
 */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const id = requestIdFrom(req.headers['x-request-id']);
    req.id = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    runWithContext({ correlationId: id }, () => next());
  };
}
