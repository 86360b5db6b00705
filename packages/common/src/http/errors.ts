/** One entry of the error body `{"errors":[...]}` every service returns. */
export interface ErrorEntry {
  /** Human-readable reason, safe to show to the caller. */
  message: string;
  /** The input field at fault, when there is one (dot-separated path for nested fields). */
  field?: string;
}

/** The body of every error response: `{"errors":[{"message", "field"?}]}`. */
export interface ErrorBody {
  /** One entry per problem found. */
  errors: ErrorEntry[];
}

/** An error that maps to an HTTP status and a body the caller may see; thrown from routes, answered by `errorHandler`. */
export abstract class HttpError extends Error {
  /** HTTP status code sent with the response. */
  abstract readonly status: number;
  /** Stable machine-readable code, for logs and clients that switch on it. */
  abstract readonly code: string;

  constructor(
    message: string,
    /** The input field at fault, if any. */
    readonly field?: string,
  ) {
    super(message);
  }

  /** The entries of the response body: the message, and the field when there is one. */
  serialize(): ErrorEntry[] {
    return [copyEntry({ message: this.message, field: this.field })];
  }
}

/** 400: the request is wrong in a way one message (and maybe one field) explains. */
export class BadRequestError extends HttpError {
  override readonly name = 'BadRequestError';
  readonly status = 400;
  readonly code = 'BAD_REQUEST';

  /** `field` names the input at fault, if any. */
  constructor(message: string, field?: string) {
    super(message, field);
  }
}

/** 400: input failed validation; one entry per problem, each naming its field where possible. */
export class RequestValidationError extends HttpError {
  override readonly name = 'RequestValidationError';
  readonly status = 400;
  readonly code = 'VALIDATION_FAILED';
  /** The problems found, as sent to the caller. */
  readonly entries: ErrorEntry[];

  /** An empty list still produces one generic entry, so the body is never `{"errors":[]}`. */
  constructor(entries: ErrorEntry[]) {
    const list = entries.length > 0 ? entries.map(copyEntry) : [{ message: 'Invalid request' }];
    super(list.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; '));
    this.entries = list;
  }

  override serialize(): ErrorEntry[] {
    return this.entries.map(copyEntry);
  }
}

/** 401: the caller is not signed in (no token, or an invalid or expired one). */
export class NotAuthorizedError extends HttpError {
  override readonly name = 'NotAuthorizedError';
  readonly status = 401;
  readonly code = 'NOT_AUTHORIZED';

  constructor(message = 'Not authorized') {
    super(message);
  }
}

/** 403: the caller is signed in but the resource is not theirs to act on. */
export class ForbiddenError extends HttpError {
  override readonly name = 'ForbiddenError';
  readonly status = 403;
  readonly code = 'FORBIDDEN';

  constructor(message = 'Forbidden') {
    super(message);
  }
}

/** 404: no such resource (or route). */
export class NotFoundError extends HttpError {
  override readonly name = 'NotFoundError';
  readonly status = 404;
  readonly code = 'NOT_FOUND';

  constructor(message = 'Not found') {
    super(message);
  }
}

/** 409: the request is valid but the resource's current state forbids it (reserved ticket, paid order...). */
export class ConflictError extends HttpError {
  override readonly name = 'ConflictError';
  readonly status = 409;
  readonly code = 'CONFLICT';

  /** `field` names the input that collides, if any (a taken email, for example). */
  constructor(message: string, field?: string) {
    super(message, field);
  }
}

/** 413: the request body exceeds the size limit. */
export class PayloadTooLargeError extends HttpError {
  override readonly name = 'PayloadTooLargeError';
  readonly status = 413;
  readonly code = 'PAYLOAD_TOO_LARGE';

  constructor(message = 'Request body is too large') {
    super(message);
  }
}

/** 429: the caller is rate limited; `errorHandler` sends `Retry-After` when `retryAfterSeconds` is set. */
export class TooManyRequestsError extends HttpError {
  override readonly name = 'TooManyRequestsError';
  readonly status = 429;
  readonly code = 'TOO_MANY_REQUESTS';

  /** `retryAfterSeconds` is rounded up to a whole second, as `Retry-After` allows no fractions. */
  constructor(
    readonly retryAfterSeconds?: number,
    message = 'Too many requests',
  ) {
    super(message);
  }
}

function copyEntry(entry: ErrorEntry): ErrorEntry {
  return entry.field === undefined
    ? { message: entry.message }
    : { message: entry.message, field: entry.field };
}
