import { ApiClient, listTicket } from '@ticketing/stack/client';
import { mongoUrlWithDatabase } from '@ticketing/testing';
import { MongoClient } from 'mongodb';
import { MeasurementError } from './errors';
import { measureExpressFloor, measureJetStreamFloors, measureMongoInsertFloor } from './floors';
import { type FlowLevelResult, purchaseOnce, runFlowLevel } from './flow';
import { type HttpFigures, runLoad } from './http-load';
import { completionTimes, type LagFigures, measureEventLag } from './lag';
import type { MachineInfo } from './machine';
import type { Floors, FlowLevelReport, HttpTarget, Measurements } from './report';
import { type BenchSettings, pollIntervalFor, signupsNeeded } from './settings';
import { summarize } from './stats';
import { type BenchTarget, keepsConnectionsAlive } from './target';

/** Progress lines go here. */
export type ProgressLog = (line: string) => void;

async function signUpAll(gatewayUrl: string, count: number, parallel = 4): Promise<ApiClient[]> {
  const users = Array.from({ length: count }, () => new ApiClient(gatewayUrl));
  for (let i = 0; i < users.length; i += parallel) {
    await Promise.all(users.slice(i, i + parallel).map((user) => user.signup()));
  }
  return users;
}

async function ticketsOnSale(gatewayUrl: string): Promise<number> {
  const response = await fetch(`${gatewayUrl}/api/tickets`);
  if (response.status !== 200) throw new MeasurementError('GET /api/tickets', `answered ${response.status}`);
  return ((await response.json()) as unknown[]).length;
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

/**
 * One bench run against a ready stack: the floors (stack idle), HTTP reads, the purchase flow at each level and
 * its event lag, then HTTP writes (last: the backlog of ticket.created they leave delays nothing else) and
 * their event lag. Signs up {@link signupsNeeded} users.
 */
export async function runBench(
  target: BenchTarget,
  settings: BenchSettings,
  machine: MachineInfo,
  log: ProgressLog,
): Promise<Measurements> {
  const startedAt = new Date();
  const gateway = target.gatewayUrl;
  const mongo = new MongoClient(mongoUrlWithDatabase(target.mongoUrl, target.databases.tickets!), {
    serverSelectionTimeoutMS: 10_000,
  });
  await mongo.connect();
  try {
    const changes = (service: string, collection: string) =>
      mongo.db(target.databases[service]!).collection(`${collection}_changes`);

    const floors = await measureFloors(target, settings, log);

    const http = await httpTarget(target);
    if (http.note) log(http.note);
    const levels = settings.flowLevels;
    const buyersNeeded = Math.max(...levels);
    log(`signing up ${signupsNeeded(settings)} users: the writer, the seller and ${buyersNeeded} buyers`);
    const [writer, seller, ...buyers] = await signUpAll(gateway, signupsNeeded(settings));

    const onSale = await ticketsOnSale(gateway);
    for (let i = onSale; i < settings.readSeed; i++) await listTicket(writer!, 10, 'Bench seed');
    const seen = await ticketsOnSale(gateway);
    log(
      `HTTP reads: GET /api/tickets (${seen} on sale) via ${http.via}, ${settings.connections} connections, ${settings.httpSeconds} s`,
    );
    const reads = await runLoad({
      name: 'GET /api/tickets',
      url: `${http.url}/api/tickets`,
      connections: settings.connections,
      durationSeconds: settings.httpSeconds,
      warmupSeconds: settings.warmupSeconds,
    });

    log('purchase flow: warm-up (2 flows)');
    for (let i = 0; i < 2; i++) await purchaseOnce(seller!, buyers[0]!, settings.pollIntervalMs);
    const results: FlowLevelResult[] = [];
    for (const concurrency of levels) {
      const pollIntervalMs = pollIntervalFor(settings, concurrency);
      log(
        `purchase flow: ${concurrency} concurrent buyers, ${settings.flowSeconds} s, polling every ${pollIntervalMs} ms`,
      );
      const result = await runFlowLevel({
        seller: seller!,
        buyers,
        concurrency,
        durationSeconds: settings.flowSeconds,
        pollIntervalMs,
      });
      log(`  ${result.completed} flows, ${result.failed} failed`);
      results.push(result);
    }

    const samples = results.flatMap((result) => result.samples);
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
    const completed = await completionTimes(
      changes('orders', 'orders'),
      samples.map((s) => s.orderId),
    );
    const flows: FlowLevelReport[] = results.map(({ samples: levelSamples, ...result }) => ({
      ...result,
      completeWritten: summarize(
        levelSamples.flatMap((s) => {
          const at = completed.get(s.orderId);
          return at === undefined ? [] : [at - s.startedAt];
        }),
      ),
    }));

    log(
      `HTTP writes: POST /api/tickets via ${http.via}, ${settings.connections} connections, ${settings.httpSeconds} s, at most ${settings.maxWrites}`,
    );
    const writeLoadStart = new Date();
    const writes: HttpFigures = await runLoad({
      name: 'POST /api/tickets',
      url: `${http.url}/api/tickets`,
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: writer!.sessionCookie },
      body: JSON.stringify({ title: 'Bench write', price: 10 }),
      connections: settings.connections,
      durationSeconds: settings.httpSeconds,
      warmupSeconds: settings.warmupSeconds,
      maxRequests: settings.maxWrites,
    });
    // The tickets created under write load (warm-up included), for the lag of their ticket.created.
    const written = await changes('tickets', 'tickets')
      .find(
        { 'state.userId': writer!.id, version: 0, at: { $gte: writeLoadStart } },
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
      flows,
      eventLag: [...flowLag, writeLag],
      floors,
    };
  } finally {
    await mongo.close();
  }
}
