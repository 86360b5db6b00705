/** One entry of the API's error body `{"errors":[{message, field?}]}`. */
export interface ApiErrorEntry {
  message: string;
  field?: string;
}

/** An answer of the API that is not a success: its status and the errors it named. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code = 'API_ERROR';

  constructor(
    /** HTTP status (0 when the API could not be reached). */
    readonly status: number,
    /** The errors of the body, at least one. */
    readonly errors: ApiErrorEntry[],
  ) {
    super(errors.map((e) => e.message).join(' '));
  }

  /** The message for one field, if the API named it. */
  forField(field: string): string | undefined {
    return this.errors.find((e) => e.field === field)?.message;
  }

  /** The messages that name no field the form shows, to be shown above it. */
  general(shownFields: readonly string[]): string[] {
    return this.errors.filter((e) => !e.field || !shownFields.includes(e.field)).map((e) => e.message);
  }
}

/** A successful answer: the parsed body and the headers (for `Link`). */
export interface ApiAnswer<T> {
  status: number;
  body: T;
  headers: Headers;
}

const unreachable = (status: number) =>
  new ApiError(status, [{ message: 'The shop cannot reach its server right now. Try again in a moment.' }]);

/** Calls the API on this origin (the session cookie goes along); throws {@link ApiError} unless 2xx. */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiAnswer<T>> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw unreachable(0);
  }
  const text = await response.text();
  let parsed: unknown = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    if (!response.ok) throw unreachable(response.status);
  }
  if (!response.ok) {
    const errors = (parsed as { errors?: ApiErrorEntry[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) throw new ApiError(response.status, errors);
    throw unreachable(response.status);
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

/** The signed-in user. */
export interface User {
  id: string;
  email: string;
}

/** A ticket as the API shows it. */
export interface Ticket {
  id: string;
  title: string;
  price: number;
  userId: string;
  version: number;
  orderId?: string;
}

/** An order status. */
export type OrderStatus = 'created' | 'cancelled' | 'complete';

/** An order as the API shows it. */
export interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  expiresAt: string;
  version: number;
  ticket: { id: string; title: string; price: number };
}

/**
 * A purchase is one trace: the answer to placing an order names its trace (W3C `traceresponse`), and paying
 * that order continues it (`traceparent`), across pages of this tab.
 */
export const purchaseTrace = {
  remember(orderId: string, answer: ApiAnswer<unknown>): void {
    const trace = answer.headers.get('traceresponse');
    if (trace) sessionStorage.setItem(`trace:${orderId}`, trace);
  },
  headersFor(orderId: string): Record<string, string> {
    const trace = sessionStorage.getItem(`trace:${orderId}`);
    return trace ? { traceparent: trace } : {};
  },
};
