import type { Request, RequestHandler } from 'express';
import type { z } from 'zod';
import { type ErrorEntry, RequestValidationError } from './errors';

/** Schemas for the parts of a request {@link validate} checks; each is optional. */
export interface ValidationSchemas {
  /** Schema for the JSON body; the body must then be a JSON object. */
  body?: z.ZodType;
  /** Schema for the route parameters (`/:id`). */
  params?: z.ZodType;
  /** Schema for the query string. */
  query?: z.ZodType;
}

/**
 * Validates the request against zod schemas before the route runs. Failures become a 400 with one entry per
 * problem, `field` being the dot-joined path; on success the parsed (coerced, stripped) values replace
 * `req.body`, `req.params` and `req.query`, so handlers never see input the schema did not allow.
 */
export function validate(schemas: ValidationSchemas): RequestHandler {
  return (req, _res, next) => {
    const entries: ErrorEntry[] = [];
    let body: unknown;
    let params: unknown;
    let query: unknown;

    if (schemas.body) {
      // Arrays and primitives would let a schema of optional fields pass on a meaningless body.
      if (!isPlainObject(req.body)) {
        entries.push({ message: 'Request body must be a JSON object' });
      } else {
        body = collect(schemas.body, req.body, entries);
      }
    }
    if (schemas.params) {
      params = collect(schemas.params, req.params, entries);
    }
    if (schemas.query) {
      query = collect(schemas.query, req.query, entries);
    }
    if (entries.length > 0) {
      next(new RequestValidationError(entries));
      return;
    }

    if (schemas.body) {
      req.body = body;
    }
    if (schemas.params) {
      req.params = params as Request['params'];
    }
    if (schemas.query) {
      // Express 5 defines req.query as a getter that re-parses the URL on each read, so assigning is lost or throws;
      // an own property on the request shadows it for the rest of this request.
      Object.defineProperty(req, 'query', {
        value: query,
        writable: true,
        configurable: true,
        enumerable: true,
      });
    }
    next();
  };
}

function collect(schema: z.ZodType, input: unknown, entries: ErrorEntry[]): unknown {
  const result = schema.safeParse(input);
  if (result.success) {
    // PostgreSQL cannot store U+0000 in text, so FerretDB refuses a document holding one: refused here for every
    // Mongo-compatible server alike, naming the field, instead of failing at the write.
    for (const path of pathsWithNul(result.data, [])) {
      const field = path.join('.');
      entries.push(field === '' ? { message: NUL_MESSAGE } : { message: NUL_MESSAGE, field });
    }
    return result.data;
  }
  for (const issue of result.error.issues) {
    const field = issue.path.map((part) => String(part)).join('.');
    entries.push(field === '' ? { message: issue.message } : { message: issue.message, field });
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

function* pathsWithNul(value: unknown, path: string[]): Generator<string[]> {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) yield path;
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) yield* pathsWithNul(item, [...path, String(index)]);
  } else if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    for (const [key, item] of Object.entries(value)) yield* pathsWithNul(item, [...path, key]);
  }
}
