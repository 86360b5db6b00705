import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { eventually, mongoUrlWithDatabase } from '@ticketing/testing';
import { MongoClient } from 'mongodb';
import { ApiClient, listTicket, waitForOrderStatus } from '../client';
import { repoRoot } from '../paths';
import { type Stack, type StackOptions, serviceNames, startStack } from '../stack';
import { consistencyViolations } from './consistency';

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

/** Starts a real stack (the service processes, NATS, Mongo, gateway) and waits until every service is ready. */
export async function startTestStack(
  env: Record<string, string> = {},
  options: Pick<StackOptions, 'sandboxPayments' | 'scale' | 'jaeger'> = {},
): Promise<TestStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ticketing-e2e-'));
  const logFile = join(dataDir, 'stack.log');
  const logTo = createWriteStream(logFile);
  const prefix = `e2e${randomBytes(4).toString('hex')}`;
  const stack = await startStack({
    port: 0,
    // Not 4222: a nats-server restarted by a test must get its port back, which npm start would race it for.
    natsPort: 0,
    dataDir,
    env: { LOG_LEVEL: 'info', ...env },
    logTo,
    databasePrefix: prefix,
    ...options,
  });
  await stack.waitReady(240_000);
  const mongo = await MongoClient.connect(mongoUrlWithDatabase(stack.mongoUrl, `${prefix}-auth`));
  return {
    stack,
    logFile,
    db: (service) => mongo.db(stack.databases[service]),
    async stop() {
      await stack.stop();
      for (const service of serviceNames)
        await mongo
          .db(stack.databases[service])
          .dropDatabase()
          .catch(() => undefined);
      await mongo.close();
      logTo.end();
      if (!process.env.KEEP_E2E_DATA) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

// The API client and purchase helpers live in ../client (exported as @ticketing/stack/client, which the bench uses);
// e2e tests keep importing them from here.
export type { Answer, PollOptions } from '../client';
export { ApiClient, listTicket, orderTicket, payOrder, waitForOrderStatus } from '../client';

/** True for answers that mean "the service is (re)starting or unreachable: try again". */
function transient(status: number): boolean {
  return status === 502 || status === 503;
}

async function retrying<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const result = await attempt();
      if (result !== undefined) return result;
    } catch (error) {
      last = error; // connection reset while a process died: try again
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what} did not succeed within ${timeoutMs} ms (${String(last ?? 'kept failing')})`);
}

/**
 * Orders and pays one ticket like a careful client during faults: retries while a service is unreachable, and
 * after an ambiguous failure (the order may have been placed before the answer was lost) finds its own order
 * instead of placing another. Resolves with the order id once the payment was accepted.
 */
export async function resilientPurchase(buyer: ApiClient, ticketId: string): Promise<string> {
  const orderId = await retrying('order', async () => {
    const placed = await buyer.request<{ id: string }>('POST', '/api/orders', { ticketId });
    if (placed.status === 201) return placed.body.id;
    if (placed.status === 404 || transient(placed.status)) return undefined; // replica not there yet / restarting
    const mine = await buyer.request<Array<{ id: string; status: string; ticket: { id: string } }>>(
      'GET',
      '/api/orders',
    );
    if (mine.status !== 200) return undefined;
    const existing = mine.body.find((order) => order.ticket.id === ticketId && order.status !== 'cancelled');
    if (existing) return existing.id;
    throw new Error(`order for ${ticketId}: ${placed.status} ${JSON.stringify(placed.body)}`);
  });
  await retrying('payment', async () => {
    const paid = await buyer.request('POST', '/api/payments', { orderId, token: 'tok_visa' });
    if (paid.status === 201) return true;
    if (paid.status === 404 || transient(paid.status)) return undefined;
    if (paid.status === 409) {
      const order = await buyer.request<{ status: string }>('GET', `/api/orders/${orderId}`);
      if (order.body.status === 'complete') return true; // our earlier attempt went through
      return undefined; // a payment in progress (maybe of a request whose answer was lost)
    }
    throw new Error(`payment for ${orderId}: ${paid.status} ${JSON.stringify(paid.body)}`);
  });
  return orderId;
}

/**
 * Lists `count` tickets and has a buyer each purchase one ({@link resilientPurchase}), all at once, with `fault`
 * run in the middle; resolves with the order ids once every order is complete and the services agree
 * ({@link consistencyViolations}).
 */
export async function purchaseBurst(
  test: TestStack,
  count: number,
  fault: () => Promise<void>,
): Promise<string[]> {
  const seller = await new ApiClient(test.stack.url).signup();
  const tickets: Array<{ id: string }> = [];
  for (let i = 0; i < count; i++) tickets.push(await listTicket(seller, 10 + i, `Burst ${i}`));
  const buyers = await Promise.all(tickets.map(() => new ApiClient(test.stack.url).signup()));
  const purchases = Promise.all(buyers.map((buyer, i) => resilientPurchase(buyer, tickets[i]!.id)));
  await new Promise((resolve) => setTimeout(resolve, 300));
  await fault();
  const orderIds = await purchases;
  for (const [i, orderId] of orderIds.entries())
    await waitForOrderStatus(buyers[i]!, orderId, 'complete', 60_000);
  await eventually(async () => expect(await consistencyViolations(test)).toEqual([]), {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  return orderIds;
}

/** Runs `npm run replay`'s program against a test stack; resolves with its exit code and output. */
export function runReplay(
  test: TestStack,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'tools', 'replay', 'dist', 'main.js'), ...args],
      {
        env: { ...process.env, ...env, TICKETING_DATA_DIR: dirname(test.stack.stateFile) },
        timeout: 120_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}
