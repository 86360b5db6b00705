import { randomBytes } from 'node:crypto';
import { eventually } from '@ticketing/testing';

/** An HTTP answer. */
export interface Answer<T = Record<string, unknown>> {
  /** Status code. */
  status: number;
  /** Parsed JSON body (or {} when empty). */
  body: T;
}

/** How the helpers that wait for another service's replica retry. */
export interface PollOptions {
  /** Give up after this long, in ms (default 15000; 20000 for {@link waitForOrderStatus}). */
  timeoutMs?: number;
  /** Pause between attempts, in ms (default 100). */
  intervalMs?: number;
}

/** A user of the API through the gateway, holding its session cookie like a browser. */
export class ApiClient {
  private cookie = '';
  /** The signed-in user's id, once signed up. */
  id = '';

  constructor(
    private readonly base: string,
    /** The user's email. */
    readonly email = `user-${randomBytes(5).toString('hex')}@example.com`,
  ) {}

  /** The `session=…` cookie once signed in (empty before), for other HTTP clients such as a load generator. */
  get sessionCookie(): string {
    return this.cookie;
  }

  /** Sends a request; keeps the session cookie the server sets. */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Answer<T>> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(this.cookie ? { cookie: this.cookie } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith('session='));
    if (setCookie) this.cookie = setCookie.split(';')[0]!;
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
  }

  /** Signs up (and so in); throws unless 201. */
  async signup(): Promise<this> {
    const answer = await this.request<{ id: string }>('POST', '/api/users/signup', {
      email: this.email,
      password: 'correct horse battery',
    });
    if (answer.status !== 201)
      throw new Error(`signup ${this.email}: ${answer.status} ${JSON.stringify(answer.body)}`);
    this.id = answer.body.id;
    return this;
  }
}

/** Lists a ticket; throws unless 201. */
export async function listTicket(
  seller: ApiClient,
  price = 25,
  title = 'Concert',
): Promise<{ id: string; version: number }> {
  const answer = await seller.request<{ id: string; version: number }>('POST', '/api/tickets', {
    title,
    price,
  });
  if (answer.status !== 201)
    throw new Error(`create ticket: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** Orders a ticket once the orders service knows it (its replica follows ticket.created). */
export async function orderTicket(
  buyer: ApiClient,
  ticketId: string,
  poll: PollOptions = {},
): Promise<{ id: string; status: string }> {
  return eventually(
    async () => {
      const answer = await buyer.request<{ id: string; status: string }>('POST', '/api/orders', { ticketId });
      if (answer.status !== 201) throw new Error(`order: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body;
    },
    { timeoutMs: poll.timeoutMs ?? 15_000, intervalMs: poll.intervalMs ?? 100 },
  );
}

/** Pays an order once payments knows it (its replica follows order.created). */
export async function payOrder(
  buyer: ApiClient,
  orderId: string,
  token = 'tok_visa',
  poll: PollOptions = {},
): Promise<Answer> {
  return eventually(
    async () => {
      const answer = await buyer.request('POST', '/api/payments', { orderId, token });
      if (answer.status === 404) throw new Error(`payments does not know order ${orderId} yet`);
      return answer;
    },
    { timeoutMs: poll.timeoutMs ?? 15_000, intervalMs: poll.intervalMs ?? 100 },
  );
}

/** Waits until the buyer sees the order in `status`. */
export async function waitForOrderStatus(
  buyer: ApiClient,
  orderId: string,
  status: string,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<{ status: string }> {
  return eventually(
    async () => {
      const answer = await buyer.request<{ status: string }>('GET', `/api/orders/${orderId}`);
      if (answer.body.status !== status)
        throw new Error(`order ${orderId} is ${answer.body.status}, not ${status}`);
      return answer.body;
    },
    { timeoutMs, intervalMs },
  );
}
