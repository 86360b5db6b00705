import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from '../logging';
import { ContentionError } from '../store/errors';
import { type ErrorEntry, HttpError, NotFoundError, TooManyRequestsError } from './errors';

interface Mapped {
  status: number;
  errors: ErrorEntry[];
}

/** Answers requests that matched no route with 404 in the standard error body. */
export const notFoundHandler: RequestHandler = (_req, _res, next) => {
  next(new NotFoundError('Route not found'));
};

/**
 * The last middleware of every app: turns any error into the standard body. Known kinds (HttpError, body parser,
 * mongoose validation, duplicate key) keep their meaning; everything else is a logged 500 with a fixed message,
 * so internals never reach the caller.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    // Once headers are out, only Express's default handler can abort the response properly.
    if (res.headersSent) {
      next(err);
      return;
    }
    const mapped = mapError(err);
    if (mapped) {
      if (err instanceof TooManyRequestsError && err.retryAfterSeconds !== undefined) {
        res.setHeader('Retry-After', String(Math.max(0, Math.ceil(err.retryAfterSeconds))));
      }
      send(res, mapped);
      return;
    }
    // req.log carries the request id (pino-http); fall back for apps built without it.
    const log: Logger = (req as { log?: Logger }).log ?? logger;
    log.error({ err, method: req.method, url: req.originalUrl }, 'unhandled error');
    send(res, { status: 500, errors: [{ message: 'Something went wrong' }] });
  };
}

function send(res: Response, mapped: Mapped): void {
  res.status(mapped.status).json({ errors: mapped.errors });
}

/** The response for an error we understand, or undefined for a 500. */
function mapError(err: unknown): Mapped | undefined {
  if (err instanceof HttpError) {
    return { status: err.status, errors: err.serialize() };
  }
  if (err instanceof ContentionError) {
    return { status: 409, errors: [{ message: 'It was changed by others meanwhile; try again' }] };
  }
  if (typeof err !== 'object' || err === null) {
    return undefined;
  }
  const e = err as Record<string, unknown>;
  return mapBodyParserError(e) ?? mapMongooseError(e) ?? mapDuplicateKey(e) ?? mapClientError(e);
}

function mapBodyParserError(e: Record<string, unknown>): Mapped | undefined {
  if (e.type === 'entity.too.large') {
    return { status: 413, errors: [{ message: 'Request body is too large' }] };
  }
  if (e.type === 'entity.parse.failed') {
    return { status: 400, errors: [{ message: 'Malformed JSON body' }] };
  }
  return undefined;
}

function mapMongooseError(e: Record<string, unknown>): Mapped | undefined {
  if (e.name === 'CastError') {
    const path = typeof e.path === 'string' ? e.path : undefined;
    return { status: 400, errors: [castEntry(path)] };
  }
  if (e.name === 'ValidationError' && typeof e.errors === 'object' && e.errors !== null) {
    const entries: ErrorEntry[] = [];
    for (const [key, value] of Object.entries(e.errors as Record<string, unknown>)) {
      const sub = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
      const path = typeof sub.path === 'string' ? sub.path : key;
      // Cast messages name the model and echo the raw value; validator messages come from our own schemas.
      if (sub.name === 'CastError' || typeof sub.message !== 'string') {
        entries.push(castEntry(path));
      } else {
        entries.push({ message: sub.message, field: path });
      }
    }
    return { status: 400, errors: entries.length > 0 ? entries : [{ message: 'Invalid input' }] };
  }
  return undefined;
}

function castEntry(path: string | undefined): ErrorEntry {
  return path === undefined
    ? { message: 'Invalid value' }
    : { message: `Invalid value for ${path}`, field: path };
}

function mapDuplicateKey(e: Record<string, unknown>): Mapped | undefined {
  if (e.code !== 11000) {
    return undefined;
  }
  // MongoDB names the key in keyValue/keyPattern; FerretDB sends neither, and the field is then unknown.
  const key = [e.keyValue, e.keyPattern].find((k) => typeof k === 'object' && k !== null);
  const field = key ? Object.keys(key)[0] : undefined;
  return {
    status: 409,
    errors: [
      field === undefined ? { message: 'Already exists' } : { message: `${field} already exists`, field },
    ],
  };
}

/** Errors from http-errors-style libraries carry a status; a 4xx one is the caller's fault, not ours. */
function mapClientError(e: Record<string, unknown>): Mapped | undefined {
  const status =
    typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 0;
  if (!Number.isInteger(status) || status < 400 || status > 499) {
    return undefined;
  }
  // `expose` is the library's statement that its message is meant for clients; otherwise only the status text.
  const message =
    e.expose === true && typeof e.message === 'string' && e.message.length > 0
      ? e.message
      : (STATUS_CODES[status] ?? 'Bad request');
  return { status, errors: [{ message }] };
}
