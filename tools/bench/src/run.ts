import { mongoUrlWithDatabase } from '@ticketing/testing';
import { type Collection, type Document, MongoClient } from 'mongodb';
import { type CostBreakdown, type CostSources, costBetween, snapshotWhenQuiet, takeSnapshot } from './cost';
import { MeasurementError } from './errors';
import { measureExpressFloor, measureJetStreamFloors, measureMongoInsertFloor } from './floors';
import { type FlowLevelResult, type FlowSample, listTicket, purchaseOnce, runFlowLevel } from './flow';
import {
  handledCount,
  type SeedResult,
  seedPurchases,
  seedTickets,
  sellersForSeeding,
  waitForHandled,
} from './growth';
import { type Answer, type BenchClient, keepAliveAgent, signUpAll } from './http-client';
import { type HttpFigures, runLoad } from './http-load';
import { completionTimes, type LagFigures, measureEventLag, versionTimes } from './lag';
import type { MachineInfo } from './machine';
import type { Floors, FlowLevelReport, GrowthReport, HttpTarget, Measurements, SeedReport } from './report';
import { type BenchSettings, buyersNeeded, FLOW_SELLERS, signupsNeeded, writersNeeded } from './settings';
import { summarize } from './stats';
import { type BenchTarget, keepsConnectionsAlive } from './target';
import { type FlowMilestones, stepWaits } from './waits';

/** Progress lines go here. */
export type ProgressLog = (line: string) => void;

/** Seconds of the idle stack measured before the flows (heartbeats and timers: the floor of every cost). */
const IDLE_SECONDS = 3;

/** Tickets on sale, counted page by page (`?limit=100`, following `Link: rel="next"`). */
export async function ticketsOnSale(client: BenchClient): Promise<number> {
  let count = 0;
  let path: string | undefined = '/api/tickets?limit=100';
  while (path) {
    const answer: Answer<unknown[]> = await client.request<unknown[]>('GET', path);
    if (answer.status !== 200 || !Array.isArray(answer.body))
      throw new MeasurementError(`GET ${path}`, `answered ${answer.status}`);
    count += answer.body.length;
    path = /<([^>]+)>;\s*rel="next"/.exec(String(answer.headers.link ?? ''))?.[1];
  }
  return count;
}

/**
 * Where autocannon sends the HTTP tests: the gateway, unless it closes the connection after every response
 * (which autocannon cannot measure, see {@link keepsConnectionsAlive}); then the tickets service itself.
 */
export async function httpTarget(target: BenchTarget): Promise<HttpTarget> {
  if (await keepsConnectionsAlive(`${target.gatewayUrl}/api/tickets`))
    return { url: target.gatewayUrl, via: 'gateway' };
  const tickets = target.serviceUrls.tickets;
  const problem =
    'the gateway answers `Connection: close` (a new connection per request), on which autocannon misreports latency';
  if (!tickets)
    return {
      url: target.gatewayUrl,
      via: 'gateway',
      note: `${problem}; stack.json names no tickets service URL, so HTTP figures are unreliable`,
    };
  return {
    url: tickets,
    via: 'tickets service',
    note: `${problem}: HTTP reads and writes go straight to the tickets service at ${tickets}`,
  };
}

/** The floors, on the stack's own NATS and Mongo, while the stack is idle. */
async function measureFloors(
  target: BenchTarget,
  settings: BenchSettings,
  log: ProgressLog,
): Promise<Floors> {
  log(`floor: JetStream publish→ack and publish→delivery (${settings.floorCount} each) on ${target.natsUrl}`);
  const jetstream = await measureJetStreamFloors(target.natsUrl, { count: settings.floorCount });
  log(`floor: Mongo insertOne (${settings.floorCount})`);
  const mongoInsert = await measureMongoInsertFloor(target.mongoUrl, { count: settings.floorCount });
  log(`floor: empty Express app, ${settings.connections} connections, ${settings.httpSeconds} s`);
  const express = await measureExpressFloor({
    connections: settings.connections,
    durationSeconds: settings.httpSeconds,
    warmupSeconds: settings.warmupSeconds,
  });
  return { express, mongoInsert, ...jetstream };
}

/** A flow level measured with its cost: snapshots before and (once its last events are handled) after. */
async function measuredFlowLevel(
  run: () => Promise<FlowLevelResult>,
  sources: CostSources,
): Promise<{ result: FlowLevelResult; cost: CostBreakdown | null }> {
  const before = await takeSnapshot(sources);
  const result = await run();
  const after = await snapshotWhenQuiet(sources);
  return { result, cost: result.completed > 0 ? costBetween(before, after, result.completed) : null };
}

function seedReport({ ids, ...seed }: SeedResult): SeedReport {
  return { ...seed, count: ids.length };
}

/** When the services did what each flow's steps wait for, by order id (from the change documents). */
async function flowMilestones(
  samples: readonly FlowSample[],
  changes: (service: string, collection: string) => Collection<Document>,
): Promise<Map<string, FlowMilestones>> {
  const orderIds = samples.map((s) => s.orderId);
  const ticketInOrders = await versionTimes(
    changes('orders', 'tickets'),
    samples.map((s) => s.ticketId),
  );
  const orderInPayments = await versionTimes(changes('payments', 'orders'), orderIds);
  const completeWritten = await completionTimes(changes('orders', 'orders'), orderIds);
  return new Map(
    samples.map((s) => [
      s.orderId,
      {
        ticketInOrders: ticketInOrders.get(s.ticketId),
        orderInPayments: orderInPayments.get(s.orderId),
        completeWritten: completeWritten.get(s.orderId),
      },
    ]),
  );
}

/** A level as reported: its samples replaced by the figures read from the change documents. */
function levelReport(
  { samples, ...result }: FlowLevelResult,
  cost: CostBreakdown | null,
  milestones: ReadonlyMap<string, FlowMilestones>,
): FlowLevelReport {
  return {
    ...result,
    completeWritten: summarize(
      samples.flatMap((s) => {
        const at = milestones.get(s.orderId)?.completeWritten;
        return at === undefined ? [] : [at - s.startedAt];
      }),
    ),
    cost,
    waits: stepWaits(samples, milestones),
  };
}

/**
 * One bench run against a ready stack: the floors (stack idle), HTTP reads, the idle stack's cost, the purchase
 * flow at each level with its cost, the growth level (many tickets and orders seeded, then the reads and a flow
 * level again), the flows' event lag and step waits, then HTTP writes (last: the backlog of ticket.created they
 * leave delays nothing else) and their event lag. Signs up {@link signupsNeeded} users.
 */
export async function runBench(
  target: BenchTarget,
  settings: BenchSettings,
  machine: MachineInfo,
  log: ProgressLog,
): Promise<Measurements> {
  const startedAt = new Date();
  const gateway = target.gatewayUrl;
  const agent = keepAliveAgent();
  const mongo = new MongoClient(mongoUrlWithDatabase(target.mongoUrl, target.databases.tickets!), {
    serverSelectionTimeoutMS: 10_000,
  });
  await mongo.connect();
  try {
    const changes = (service: string, collection: string) =>
      mongo.db(target.databases[service]!).collection(`${collection}_changes`);
    const sources: CostSources = { services: target.serviceUrls, processes: target.processes };
    if (target.processes.length === 0)
      log('stack.json lists no processes (an older stack?): CPU is measured for the bench only');

    const floors = await measureFloors(target, settings, log);

    const http = await httpTarget(target);
    if (http.note) log(http.note);
    const growthSellers = sellersForSeeding(settings.growthTickets);
    log(
      `signing up ${signupsNeeded(settings)} users: ${writersNeeded(settings)} writers, ${FLOW_SELLERS} sellers, ${buyersNeeded(settings)} buyers` +
        (growthSellers > 0 ? ` and ${growthSellers} sellers to seed the growth level` : ''),
    );
    const users = await signUpAll(gateway, agent, signupsNeeded(settings));
    const writers = users.slice(0, writersNeeded(settings));
    const writer = writers[0]!;
    const afterWriters = users.slice(writers.length);
    const sellers = afterWriters.slice(0, FLOW_SELLERS);
    const buyers = afterWriters.slice(FLOW_SELLERS, FLOW_SELLERS + buyersNeeded(settings));
    const seeders = afterWriters.slice(FLOW_SELLERS + buyersNeeded(settings));

    const onSale = await ticketsOnSale(writer);
    for (let i = onSale; i < settings.readSeed; i++) await listTicket(writer, 10, 'Bench seed');
    const readLoad = async (seen: number) => {
      log(
        `HTTP reads: GET /api/tickets (${seen} on sale) via ${http.via}, ${settings.connections} connections, ${settings.httpSeconds} s`,
      );
      return runLoad({
        name: 'GET /api/tickets',
        url: `${http.url}/api/tickets`,
        connections: settings.connections,
        durationSeconds: settings.httpSeconds,
        warmupSeconds: settings.warmupSeconds,
      });
    };
    const seen = await ticketsOnSale(writer);
    const reads = await readLoad(seen);

    log(`the idle stack's cost: ${IDLE_SECONDS} s`);
    const idleStart = await takeSnapshot(sources);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const idleEnd = await takeSnapshot(sources);
    const idle = costBetween(idleStart, idleEnd, (idleEnd.at - idleStart.at) / 1000, 'second');

    log('purchase flow: warm-up (2 flows)');
    for (let i = 0; i < 2; i++) await purchaseOnce(sellers[i]!, buyers[0]!);
    const levels: Array<{ result: FlowLevelResult; cost: CostBreakdown | null }> = [];
    const flowLevel = async (concurrency: number) => {
      log(`purchase flow: ${concurrency} concurrent buyers, ${settings.flowSeconds} s`);
      const level = await measuredFlowLevel(
        () => runFlowLevel({ sellers, buyers, concurrency, durationSeconds: settings.flowSeconds }),
        sources,
      );
      log(`  ${level.result.completed} flows, ${level.result.failed} failed`);
      return level;
    };
    for (const concurrency of settings.flowLevels) levels.push(await flowLevel(concurrency));

    let growth: (Omit<GrowthReport, 'flow'> & { level: (typeof levels)[number] }) | undefined;
    if (settings.growthTickets > 0) {
      const orders = target.serviceUrls.orders;
      const handledBefore = orders ? await handledCount(orders, 'ticket.created') : 0;
      log(`growth: listing ${settings.growthTickets} tickets (${seeders.length} sellers)`);
      const tickets = await seedTickets(seeders, settings.growthTickets);
      log(`  ${tickets.ids.length} in ${tickets.seconds.toFixed(1)} s, ${tickets.failed} failed`);
      let ordersCaughtUpSeconds = 0;
      if (orders) {
        const caughtUp = await waitForHandled(
          orders,
          'ticket.created',
          handledBefore + tickets.ids.length,
          settings.lagWaitMs,
        );
        ordersCaughtUpSeconds = caughtUp.seconds;
        log(`  the orders service had applied them ${caughtUp.seconds.toFixed(1)} s later`);
      }
      log(
        `growth: ${settings.growthPurchases} purchases of seeded tickets (${settings.growthBuyers} buyers)`,
      );
      const purchases = await seedPurchases(
        buyers.slice(0, settings.growthBuyers),
        tickets.ids,
        settings.growthPurchases,
      );
      log(`  ${purchases.ids.length} in ${purchases.seconds.toFixed(1)} s, ${purchases.failed} failed`);
      const grownOnSale = await ticketsOnSale(writer);
      const grownReads = await readLoad(grownOnSale);
      growth = {
        tickets: seedReport(tickets),
        ordersCaughtUpSeconds,
        purchases: seedReport(purchases),
        reads: { ...grownReads, ticketsOnSale: grownOnSale },
        level: await flowLevel(settings.growthBuyers),
      };
    }

    const samples = [...levels, ...(growth ? [growth.level] : [])].flatMap((level) => level.result.samples);
    log('event lag: reading the change documents of the flows’ tickets and orders');
    const flowLag: LagFigures[] = [
      await measureEventLag({
        name: 'tickets → orders',
        owner: changes('tickets', 'tickets'),
        replica: changes('orders', 'tickets'),
        aggregateIds: samples.map((s) => s.ticketId),
        subjectPrefix: 'ticket.',
        waitMs: settings.lagWaitMs,
      }),
      await measureEventLag({
        name: 'orders → payments',
        owner: changes('orders', 'orders'),
        replica: changes('payments', 'orders'),
        aggregateIds: samples.map((s) => s.orderId),
        subjectPrefix: 'order.',
        waitMs: settings.lagWaitMs,
      }),
    ];
    const milestones = await flowMilestones(samples, changes);
    const flows = levels.map((level) => levelReport(level.result, level.cost, milestones));

    log(
      `HTTP writes: POST /api/tickets via ${http.via}, ${settings.connections} connections, ${settings.httpSeconds} s, at most ${settings.maxWrites}`,
    );
    const writeLoadStart = new Date();
    const writes: HttpFigures = await runLoad({
      name: 'POST /api/tickets',
      url: `${http.url}/api/tickets`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // Sellers in turn: each stays under the per-seller creation limit, which is part of what is measured.
      rotatingHeaders: writers.map((w) => ({ cookie: w.sessionCookie })),
      body: JSON.stringify({ title: 'Bench write', price: 10 }),
      connections: settings.connections,
      durationSeconds: settings.httpSeconds,
      warmupSeconds: settings.warmupSeconds,
      maxRequests: settings.maxWrites,
    });
    // The tickets created under write load (warm-up included), for the lag of their ticket.created.
    const written = await changes('tickets', 'tickets')
      .find(
        { 'state.userId': { $in: writers.map((w) => w.id) }, version: 0, at: { $gte: writeLoadStart } },
        { projection: { aggregateId: 1 } },
      )
      .toArray();
    log(
      `event lag: waiting (at most ${settings.lagWaitMs / 1000} s) for orders to apply the ${written.length} ticket.created of the write test`,
    );
    const writeLag = await measureEventLag({
      name: 'tickets → orders, during HTTP writes',
      owner: changes('tickets', 'tickets'),
      replica: changes('orders', 'tickets'),
      aggregateIds: written.map((change) => String(change.aggregateId)),
      subjectPrefix: 'ticket.',
      waitMs: settings.lagWaitMs,
    });

    return {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine,
      stack: { mode: target.mode, description: target.description, gatewayUrl: gateway },
      settings,
      http: { target: http, reads: { ...reads, ticketsOnSale: seen }, writes },
      processes: target.processes,
      flows,
      idle,
      growth: growth
        ? {
            tickets: growth.tickets,
            ordersCaughtUpSeconds: growth.ordersCaughtUpSeconds,
            purchases: growth.purchases,
            reads: growth.reads,
            flow: levelReport(growth.level.result, growth.level.cost, milestones),
          }
        : null,
      eventLag: [...flowLag, writeLag],
      floors,
    };
  } finally {
    agent.destroy();
    await mongo.close();
  }
}
