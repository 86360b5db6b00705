import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mongoUrlWithDatabase } from '@ticketing/testing';
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
  const stack = await startStack({
    port: 0,
    dataDir,
    env: { LOG_LEVEL: 'info', ...env },
    logTo,
    databasePrefix: prefix,
  });
  await stack.waitReady(120_000);
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
