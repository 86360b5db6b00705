import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { MeasurementError } from './errors';

/** An HTTP answer with its JSON body ({} when empty). */
export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A keep-alive agent for the bench's own requests: the load generator shares the machine with the stack, so it
 * reuses its connections (node:http with an agent costs less CPU per request than fetch) instead of opening one
 * per request. Sockets are made as concurrent requests need them and kept; none is capped (a long-polling buyer
 * must not queue the others).
 */
export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, keepAliveMsecs: 1000, scheduling: 'lifo' });
}

/** A user of the API (through the gateway), holding its session cookie; every request on a shared agent. */
export class BenchClient {
  private cookie = '';
  /** The user's id once signed up. */
  id = '';

  constructor(
    private readonly base: string,
    private readonly agent: Agent,
    /** The user's email. */
    readonly email = `bench-${randomBytes(6).toString('hex')}@example.com`,
  ) {}

  /** The `session=…` cookie once signed in (empty before). */
  get sessionCookie(): string {
    return this.cookie;
  }

  /** Sends a request with a JSON body (if any), keeps the session cookie the server sets, parses the answer. */
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 30_000,
  ): Promise<Answer<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = new URL(path, this.base);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
            ...(this.cookie ? { cookie: this.cookie } : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const session = response.headers['set-cookie']?.find((c) => c.startsWith('session='));
            if (session) this.cookie = session.split(';')[0]!;
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({
                status: response.statusCode ?? 0,
                body: (text ? JSON.parse(text) : {}) as T,
                headers: response.headers,
              });
            } catch {
              reject(
                new MeasurementError(
                  `${method} ${path}`,
                  `${response.statusCode}: not JSON: ${text.slice(0, 100)}`,
                ),
              );
            }
          });
        },
      );
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Sends a request and returns its body; {@link MeasurementError} unless the status is `expected`. */
  async expect<T = Record<string, unknown>>(
    expected: number,
    method: string,
    path: string,
    body?: unknown,
    timeoutMs?: number,
  ): Promise<T> {
    const answer = await this.request<T>(method, path, body, timeoutMs);
    if (answer.status !== expected)
      throw new MeasurementError(`${method} ${path}`, `${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  /** Signs up (and so in). */
  async signup(): Promise<this> {
    const user = await this.expect<{ id: string }>(201, 'POST', '/api/users/signup', {
      email: this.email,
      password: 'correct horse battery',
    });
    this.id = user.id;
    return this;
  }
}

/** Signs up `count` users, `parallel` at a time (auth hashes each password: it is CPU-bound). */
export async function signUpAll(
  base: string,
  agent: Agent,
  count: number,
  parallel = 4,
): Promise<BenchClient[]> {
  const users = Array.from({ length: count }, () => new BenchClient(base, agent));
  for (let i = 0; i < users.length; i += parallel) {
    await Promise.all(users.slice(i, i + parallel).map((user) => user.signup()));
  }
  return users;
}
