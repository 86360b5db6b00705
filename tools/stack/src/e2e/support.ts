import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, mongoUrlWithDatabase } from '@ticketing/testing';
import { MongoClient } from 'mongodb';
import { type Stack, serviceNames, startStack } from '../stack';

/** A stack for one e2e test file: own data dir and databases, merged log in a file (printed on failure). */
export interface TestStack {
  /** The running stack. */
  stack: Stack;
  /** The merged log file. */
  logFile: string;
  /** A client of one service's database, for consistency checks. */
  db(service: (typeof serviceNames)[number]): ReturnType<MongoClient['db']>;
  /** Stops the stack and drops its databases. */
  stop(): Promise<void>;
}

/** Starts a real stack (five service processes, NATS, Mongo, gateway) and waits until every service is ready. */
export async function startTestStack(env: Record<string, string> = {}): Promise<TestStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ticketing-e2e-'));
  const logFile = join(dataDir, 'stack.log');
  const logTo = createWriteStream(logFile);
  const prefix = `e2e${randomBytes(4).toString('hex')}`;
  const stack = await startStack({ port: 0, dataDir, env: { LOG_LEVEL: 'info', ...env }, logTo, databasePrefix: prefix });
  await stack.waitReady(120_000);
  const mongo = await MongoClient.connect(mongoUrlWithDatabase(stack.mongoUrl, `${prefix}-auth`));
  return {
    stack,
    logFile,
    db: (service) => mongo.db(stack.databases[service]),
    async stop() {
      await stack.stop();
      for (const service of serviceNames) await mongo.db(stack.databases[service]).dropDatabase().catch(() => undefined);
      await mongo.close();
      logTo.end();
      if (!process.env.KEEP_E2E_DATA) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** An HTTP answer. */
export interface Answer<T = Record<string, unknown>> {
  /** Status code. */
  status: number;
  /** Parsed JSON body (or {} when empty). */
  body: T;
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

  /** Sends a request; keeps the session cookie the server sets. */
  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
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
    const answer = await this.request<{ id: string }>('POST', '/api/users/signup', { email: this.email, password: 'correct horse battery' });
    if (answer.status !== 201) throw new Error(`signup ${this.email}: ${answer.status} ${JSON.stringify(answer.body)}`);
    this.id = answer.body.id;
    return this;
  }
}

/** Lists a ticket; throws unless 201. */
export async function listTicket(seller: ApiClient, price = 25, title = 'Concert'): Promise<{ id: string; version: number }> {
  const answer = await seller.request<{ id: string; version: number }>('POST', '/api/tickets', { title, price });
  if (answer.status !== 201) throw new Error(`create ticket: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** Orders a ticket once the orders service knows it (its replica follows ticket.created). */
export async function orderTicket(buyer: ApiClient, ticketId: string): Promise<{ id: string; status: string }> {
  return eventually(
    async () => {
      const answer = await buyer.request<{ id: string; status: string }>('POST', '/api/orders', { ticketId });
      if (answer.status !== 201) throw new Error(`order: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
}

/** Pays an order once payments knows it (its replica follows order.created). */
export async function payOrder(buyer: ApiClient, orderId: string, token = 'tok_visa'): Promise<Answer> {
  return eventually(
    async () => {
      const answer = await buyer.request('POST', '/api/payments', { orderId, token });
      if (answer.status === 404) throw new Error(`payments does not know order ${orderId} yet`);
      return answer;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
}

/** Waits until the buyer sees the order in `status`. */
export async function waitForOrderStatus(buyer: ApiClient, orderId: string, status: string, timeoutMs = 20_000) {
  return eventually(
    async () => {
      const answer = await buyer.request<{ status: string }>('GET', `/api/orders/${orderId}`);
      if (answer.body.status !== status) throw new Error(`order ${orderId} is ${answer.body.status}, not ${status}`);
      return answer.body;
    },
    { timeoutMs, intervalMs: 100 },
  );
}
