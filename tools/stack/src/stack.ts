import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { mongoUrlWithDatabase, type NatsServerHandle } from '@ticketing/testing';
import { createGateway } from './gateway';
import {
  DECLINING_BACKEND,
  type Infra,
  type JaegerInfra,
  type JaegerMode,
  type PaymentsBackend,
  type StackNatsNode,
  type StackProcess,
  startPaymentsBackend,
  startStackJaeger,
  startStackMongo,
  startStackNats,
} from './infra';
import { PrefixedLog } from './log';
import { dataDir as defaultDataDir, repoRoot } from './paths';
import { freePort } from './ports';
import { type StackScale, scaleFromEnv } from './scale';
import { SupervisedProcess } from './supervisor';

export type { StackNatsNode, StackProcess } from './infra';
export type { StackScale } from './scale';

/** The six services, in start order (auth first: nothing depends on it; notifications last: it only listens). */
export const serviceNames = ['auth', 'tickets', 'orders', 'payments', 'expiration', 'notifications'] as const;
/** Name of a service. */
export type ServiceName = (typeof serviceNames)[number];

/** The web shop's process: served at `/` by the gateway, like the ingress routes `/` to it. */
export const clientName = 'client';
/** What runs in replicas: every service and the web shop. */
export type ReplicatedName = ServiceName | typeof clientName;
/** Everything that runs in replicas, in start order (the services, then the shop). */
export const replicatedNames: readonly ReplicatedName[] = [...serviceNames, clientName];

/** The test cards the pay form offers for each local payments backend (stripe-mock declines no card). */
function testCardTokens(payments: PaymentsBackend): string {
  return payments.kind === DECLINING_BACKEND ? 'tok_visa,tok_chargeDeclined' : 'tok_visa';
}

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Gateway port (default `PORT` or 8080; 0 = any free port). */
  port?: number;
  /** The (first) nats-server's port (default `NATS_PORT` or 4222, another when taken; 0 = any free port). */
  natsPort?: number;
  /** Data directory (default `TICKETING_DATA_DIR` or `<repo>/.data`). */
  dataDir?: string;
  /** Extra env for every service (on top of this process's env), e.g. `ORDER_EXPIRATION_SECONDS`. */
  env?: Record<string, string>;
  /** Where the merged log goes (default stdout). */
  logTo?: Writable;
  /** How long to wait for every service to be ready, in ms (default 90000). */
  readyTimeoutMs?: number;
  /** Payments through the Stripe sandbox even when stripe-mock or Stripe is configured (default false). */
  sandboxPayments?: boolean;
  /** Prefix of the services' database names (default `ticketing`: `ticketing-orders`, …). */
  databasePrefix?: string;
  /** Replicas per service and nats-servers (default `STACK_REPLICAS` and `STACK_NATS_NODES`, else 1 each). */
  scale?: Partial<StackScale>;
  /**
   * Jaeger, the services' spans sent to it (default `off`; `npm start`: `if-present`). Never when
   * `OTEL_EXPORTER_OTLP_ENDPOINT` is set: the services send their spans there.
   */
  jaeger?: JaegerMode;
}

/** One running replica of a service of the stack. */
export interface StackService {
  /** Which replica it is: 1, 2… */
  replica: number;
  /** Its HTTP port. */
  port: number;
  /** Its base URL. */
  url: string;
  /** Its supervised process. */
  process: SupervisedProcess;
}

/** A running stack. */
export interface Stack {
  /** The gateway's base URL. */
  url: string;
  /** NATS URL (every node's, comma-separated, for a cluster). */
  natsUrl: string;
  /** The nats-servers the stack runs (none when `NATS_URL` was given): tests stop and kill them. */
  natsNodes: StackNatsNode[];
  /** How many of each process run. */
  scale: StackScale;
  /** Mongo base URL (each service has its own database on it). */
  mongoUrl: string;
  /** Each service's database name. */
  databases: Record<ServiceName, string>;
  /** The services (their first replicas). */
  services: Record<ServiceName, StackService>;
  /** Every replica of each service and of the web shop, in order. */
  replicas: Record<ReplicatedName, StackService[]>;
  /** The web shop (its first replica; its pages are at {@link Stack.url}). */
  client: StackService;
  /** The embedded nats-server when it is a single one (absent for `NATS_URL` or a cluster): tests restart it. */
  nats?: NatsServerHandle;
  /** The Jaeger the stack runs (UI and query API at its `url`), when it runs one. */
  jaeger?: JaegerInfra;
  /** How infrastructure was provided. */
  infra: { nats: string; mongo: string; payments: string };
  /** Where stack.json is. */
  stateFile: string;
  /** Resolves once every replica of every service answers /readyz with 200. */
  waitReady(timeoutMs?: number): Promise<void>;
  /**
   * Restarts one replica (index from 0) the way a rolling update does: out of the gateway's rotation, SIGTERM
   * (it finishes what it holds), started again, back in rotation once ready.
   */
  restartReplica(name: ReplicatedName, index: number, readyTimeoutMs?: number): Promise<void>;
  /** Stops everything: gateway, services (gracefully), then the infrastructure the stack started. */
  stop(): Promise<void>;
}

/** How long a replica taken out of rotation still receives what the gateway was already sending it. */
const drainDelayMs = 250;

async function waitForService(name: string, url: string, deadline: number): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} is not ready at ${url}/readyz: ${last}`);
}

/**
 * Starts NATS, Mongo and the payments backend (or uses the configured ones), the six services as supervised
 * processes (a crashed one is restarted with back-off), and the gateway; writes `stack.json` for tools.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  // Before anything starts: a bad STACK_REPLICAS or STACK_NATS_NODES stops npm start naming the variable.
  const scale: StackScale = { ...scaleFromEnv(), ...options.scale };
  const data = options.dataDir ?? defaultDataDir();
  mkdirSync(data, { recursive: true });
  const stackLog = new PrefixedLog('stack', options.logTo);
  const started: Infra[] = [];
  const supervised: SupervisedProcess[] = [];
  let gateway: Server | undefined;

  const stop = async () => {
    // First, before any await: on Ctrl-C the services get SIGINT too, and one that exits must not be restarted.
    const services = Promise.all(supervised.map((process) => process.stop()));
    if (gateway) await new Promise<void>((resolve) => gateway!.close(() => resolve()));
    gateway?.closeAllConnections();
    await services;
    for (const infra of started.reverse()) await infra.stop();
    rmSync(join(data, 'stack.json'), { force: true });
  };

  try {
    stackLog.line('starting NATS, Mongo and the payments backend…');
    // Remember each piece as soon as it is up, so a failure of another still stops it.
    const track = <T extends Infra>(infra: T): T => {
      started.push(infra);
      return infra;
    };
    const jaegerMode = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? 'off' : (options.jaeger ?? 'off');
    const [nats, mongo, payments, jaeger] = await Promise.all([
      startStackNats(data, undefined, scale.natsNodes, options.natsPort).then(track),
      startStackMongo(data, new PrefixedLog('mongo', options.logTo)).then(track),
      startPaymentsBackend(data, new PrefixedLog('stripe', options.logTo), options.sandboxPayments).then(
        track,
      ),
      startStackJaeger(data, new PrefixedLog('jaeger', options.logTo), jaegerMode).then((infra) =>
        infra ? track(infra) : undefined,
      ),
    ]);
    stackLog.line(`NATS: ${nats.url} (${nats.description})`);
    stackLog.line(`Mongo: ${mongo.description}`);
    stackLog.line(`payments: ${payments.description}`);
    if (jaeger) stackLog.line(`traces: ${jaeger.description}`);

    const replicas = Object.fromEntries(
      replicatedNames.map((name) => [name, [] as StackService[]]),
    ) as Record<ReplicatedName, StackService[]>;
    const databases = {} as Record<ServiceName, string>;
    const stateFile = join(data, 'stack.json');
    const gatewayPort = options.port ?? Number(process.env.PORT ?? 8080);
    const gatewayListenPort = await freePort(gatewayPort);
    if (gatewayPort !== 0 && gatewayListenPort !== gatewayPort)
      throw new Error(`port ${gatewayPort} is in use (set PORT)`);
    const url = `http://127.0.0.1:${gatewayListenPort}`;
    let ready = false;

    // Every process of the stack, for tools that measure what each one costs (the bench reads their CPU).
    const processes = (): StackProcess[] => [
      ...[nats, mongo, payments, ...(jaeger ? [jaeger] : [])].flatMap((infra) => infra.processes()),
      ...Object.entries(replicas).flatMap(([role, all]) =>
        all.flatMap((s) =>
          s.process.pid ? [{ role, replica: s.replica, pid: s.process.pid, port: s.port, url: s.url }] : [],
        ),
      ),
      // The gateway runs in this process, beside the supervisor and the merged log.
      { role: 'gateway', pid: process.pid, port: gatewayListenPort, url },
    ];
    const first = (name: ReplicatedName) => replicas[name][0];
    const writeState = () => {
      if (!ready) return;
      const client = first(clientName)!;
      const state = {
        gateway: { url, port: gatewayListenPort },
        nats: { url: nats.url, provided: nats.description },
        mongo: { url: mongo.url, provided: mongo.description, databases },
        payments: { url: payments.url, provided: payments.description },
        scale,
        jaeger: jaeger && { url: jaeger.url, otlpEndpoint: jaeger.otlpEndpoint },
        services: Object.fromEntries(
          serviceNames.map((name) => {
            const s = first(name)!;
            return [name, { pid: s.process.pid, port: s.port, url: s.url, restarts: s.process.restarts }];
          }),
        ),
        client: { pid: client.process.pid, port: client.port, url: client.url },
        pid: process.pid,
        processes: processes(),
      };
      writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
    };

    const baseEnv = (name: ReplicatedName): NodeJS.ProcessEnv => {
      if (name === clientName) {
        return {
          ...process.env,
          LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
          TEST_CARD_TOKENS: process.env.TEST_CARD_TOKENS ?? testCardTokens(payments as PaymentsBackend),
          ...options.env,
        };
      }
      databases[name] = `${options.databasePrefix ?? 'ticketing'}-${name}`;
      return {
        ...process.env,
        JWT_KEY: process.env.JWT_KEY ?? 'local-stack-dev-key-not-for-production',
        COOKIE_SECURE: process.env.COOKIE_SECURE ?? 'false',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
        // Every stream on every node of the stack's own cluster.
        ...(nats.nodes.length > 1 ? { NATS_STREAM_REPLICAS: String(nats.nodes.length) } : {}),
        ...options.env,
        ...(name === 'payments' ? payments.env : {}),
        ...(jaeger ? { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint } : {}),
        // Webhook receivers of local development run on this machine, over plain http.
        ...(name === 'notifications'
          ? {
              WEBHOOK_ALLOW_HTTP: process.env.WEBHOOK_ALLOW_HTTP ?? 'true',
              WEBHOOK_ALLOW_PRIVATE: process.env.WEBHOOK_ALLOW_PRIVATE ?? 'true',
              ...options.env,
            }
          : {}),
        // Reachable only from this machine, so every outside client comes through the gateway, the one proxy
        // whose X-Forwarded-For the services believe (the gateway replaces whatever a client sent there).
        HOST: '127.0.0.1',
        TRUST_PROXY: 'loopback',
        MONGO_URL: mongoUrlWithDatabase(mongo.url, databases[name]),
        NATS_URL: nats.url,
      };
    };

    // Services in start order, then the shop; the replicas of one share its database and durable consumers.
    for (const name of replicatedNames) {
      const env = baseEnv(name);
      const main = name === clientName ? join('dist', 'server', 'main.js') : join('dist', 'main.js');
      for (let replica = 1; replica <= scale.replicas; replica++) {
        const port = await freePort();
        const logName = scale.replicas > 1 ? `${name}#${replica}` : name;
        const process_ = new SupervisedProcess({
          name: logName,
          command: process.execPath,
          args: [join(repoRoot, 'services', name, main)],
          cwd: join(repoRoot, 'services', name),
          env: { ...env, PORT: String(port) },
          log: new PrefixedLog(logName, options.logTo),
          onStart: writeState,
        });
        const started = { replica, port, url: `http://127.0.0.1:${port}`, process: process_ };
        replicas[name].push(started);
        supervised.push(process_);
        process_.start();
        // On a cluster a stream's creation is a round of consensus, and a dozen processes creating the same
        // streams at once time out and crash at start (then succeed when restarted): the first one creates them.
        if (supervised.length === 1 && nats.nodes.length > 1)
          await waitForService(logName, started.url, Date.now() + (options.readyTimeoutMs ?? 90_000));
      }
    }

    // A replica being restarted on purpose gets no new requests (like an endpoint removed before its pod stops).
    const outOfRotation = new Set<StackService>();
    const locate = (name: string) =>
      (replicas[name as ReplicatedName] ?? []).filter((r) => !outOfRotation.has(r)).map((r) => r.url);
    gateway = createGateway([...replicatedNames], locate);
    await new Promise<void>((resolve, reject) => {
      gateway!.once('error', reject);
      gateway!.listen(gatewayListenPort, '127.0.0.1', () => resolve());
    });
    ready = true;
    writeState();

    const waitReady = async (timeoutMs = options.readyTimeoutMs ?? 90_000) => {
      const deadline = Date.now() + timeoutMs;
      await Promise.all(
        Object.entries(replicas).flatMap(([name, all]) =>
          all.map((r) => waitForService(`${name} #${r.replica}`, r.url, deadline)),
        ),
      );
    };

    const restartReplica = async (name: ReplicatedName, index: number, readyTimeoutMs = 60_000) => {
      const replica = replicas[name][index];
      if (!replica) throw new Error(`${name} has no replica ${index} (it runs ${replicas[name].length})`);
      outOfRotation.add(replica);
      try {
        // Requests the gateway was already sending it arrive before it stops listening.
        await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
        await replica.process.stop();
        replica.process.start();
        await waitForService(`${name} #${replica.replica}`, replica.url, Date.now() + readyTimeoutMs);
      } finally {
        outOfRotation.delete(replica);
      }
    };

    const services = Object.fromEntries(serviceNames.map((name) => [name, first(name)!])) as Record<
      ServiceName,
      StackService
    >;
    return {
      url,
      natsUrl: nats.url,
      natsNodes: nats.nodes,
      scale,
      mongoUrl: mongo.url,
      nats: nats.nodes.length === 1 ? nats.nodes[0]!.handle : undefined,
      jaeger,
      databases,
      services,
      replicas,
      client: first(clientName)!,
      infra: {
        nats: nats.description,
        mongo: mongo.description,
        payments: (payments as PaymentsBackend).description,
      },
      stateFile,
      waitReady,
      restartReplica,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
