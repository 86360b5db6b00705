// Against a real stack (NATS, Mongo, the five services, the shop, the gateway), started in this process: what
// stack.json lists, the cost readings of real services and processes, a purchase, and a small growth seeding.
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stack, serviceNames, startStack } from '@ticketing/stack/stack';
import { eventually, mongoUrlWithDatabase } from '@ticketing/testing';
import { MongoClient } from 'mongodb';
import { type CostSources, costBetween, snapshotWhenQuiet, takeSnapshot } from './cost';
import { purchaseOnce } from './flow';
import { handledCount, seedPurchases, seedTickets } from './growth';
import { keepAliveAgent, signUpAll } from './http-client';
import { readProcStat } from './proc';
import { ticketsOnSale } from './run';
import { parseStackState, type StackState } from './target';

jest.setTimeout(180_000);

const agent = keepAliveAgent();
let dataDir: string;
let stack: Stack;
let state: StackState;
let logFile: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bench-stack-'));
  await chmod(dataDir, 0o711); // without MONGO_URL, a root stack runs PostgreSQL as `postgres` in here
  logFile = join(dataDir, 'stack.log');
  stack = await startStack({
    port: 0,
    dataDir,
    env: { AUTH_RATE_LIMIT_PER_IP: '1000000', LOG_LEVEL: 'warn' },
    logTo: createWriteStream(logFile),
    databasePrefix: `benchtest${randomBytes(3).toString('hex')}`,
  });
  await stack.waitReady(120_000);
  state = parseStackState(readFileSync(stack.stateFile, 'utf8'), stack.stateFile);
});

afterAll(async () => {
  agent.destroy();
  await stack?.stop();
  if (stack && process.env.MONGO_URL) {
    const mongo = await MongoClient.connect(mongoUrlWithDatabase(stack.mongoUrl, 'admin'));
    for (const name of Object.values(stack.databases)) await mongo.db(name).dropDatabase();
    await mongo.close();
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe('stack.json', () => {
  it('lists every process the stack runs, each alive, and not what it was only given the address of', () => {
    const roles = state.processes.map((p) => p.role);
    expect(roles).toEqual(expect.arrayContaining(['nats', ...serviceNames, 'client', 'gateway']));
    expect(new Set(roles).size).toBe(roles.length);
    for (const listed of state.processes) {
      expect(readProcStat(listed.pid)).toBeDefined();
      expect(listed.port).toBeGreaterThan(0);
    }
    expect(state.processes.find((p) => p.role === 'gateway')).toMatchObject({
      pid: process.pid,
      url: stack.url,
    });
    expect(state.processes.find((p) => p.role === 'orders')).toMatchObject({
      pid: stack.services.orders.process.pid,
      url: stack.services.orders.url,
    });
    if (process.env.MONGO_URL) expect(roles).not.toContain('ferretdb');
    else expect(roles.some((role) => ['ferretdb', 'mongod'].includes(role))).toBe(true);
    if (process.env.STRIPE_MOCK_URL) expect(roles).not.toContain('stripe-mock');
  });
});

describe('the cost of a purchase, and growth seeding, on a real stack', () => {
  it('reads round trips, CPU and events of one purchase made without polling', async () => {
    const sources: CostSources = { services: state.serviceUrls, processes: state.processes };
    const [seller, buyer] = await signUpAll(stack.url, agent, 2);
    await purchaseOnce(seller!, buyer!); // warm-up
    const before = await takeSnapshot(sources);
    const sample = await purchaseOnce(seller!, buyer!);
    const after = await snapshotWhenQuiet(sources);
    expect(sample.completeMs).toBeGreaterThan(0);
    const cost = costBetween(before, after, 1);
    for (const service of ['tickets', 'orders', 'payments'])
      expect(cost.mongoCommands.byService[service]!.total).toBeGreaterThan(0);
    // ticket.created and ticket.updated; order.created and order.completed; payment.created.
    expect(cost.eventsPublished.byService.tickets).toBeGreaterThanOrEqual(1);
    expect(cost.eventsPublished.byService.orders).toBeGreaterThanOrEqual(2);
    expect(cost.eventsPublished.byService.payments).toBe(1);
    expect(cost.eventsHandled.total).toBeGreaterThanOrEqual(cost.eventsPublished.total);
    for (const role of ['nats', ...serviceNames, 'gateway'])
      expect(cost.cpuMs.byProcess[role]).not.toBeNull();
    expect(cost.cpuMs.total).toBeGreaterThan(0);
  });

  it('seeds tickets over several sellers and buys some of them', async () => {
    const users = await signUpAll(stack.url, agent, 4);
    const onSale = await ticketsOnSale(users[0]!);
    const handled = await handledCount(stack.services.orders.url, 'ticket.created');
    const tickets = await seedTickets(users.slice(0, 2), 60, 8);
    expect(tickets).toMatchObject({ failed: 0, errors: [] });
    expect(tickets.ids).toHaveLength(60);
    // The listing follows the tickets service's own changes: at once, or nearly.
    const onSaleNow = (expected: number) =>
      eventually(async () => expect(await ticketsOnSale(users[0]!)).toBe(expected), { timeoutMs: 10_000 });
    await onSaleNow(onSale + 60);
    const purchases = await seedPurchases(users.slice(2), tickets.ids, 4);
    expect(purchases).toMatchObject({ failed: 0 });
    expect(purchases.ids).toHaveLength(4);
    await onSaleNow(onSale + 56);
    expect(await handledCount(stack.services.orders.url, 'ticket.created')).toBeGreaterThanOrEqual(
      handled + 60,
    );
    await expect(seedTickets(users.slice(0, 1), 60)).rejects.toThrow('2 sellers needed for 60 tickets');
  });
});
