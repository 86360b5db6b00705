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
  type StackProcess,
  startPaymentsBackend,
  startStackJaeger,
  startStackMongo,
  startStackNats,
} from './infra';
import { PrefixedLog } from './log';
import { dataDir as defaultDataDir, repoRoot } from './paths';
import { freePort } from './ports';
import { SupervisedProcess } from './supervisor';

export type { StackProcess } from './infra';

/** The five services, in start order (auth first: nothing depends on it; expiration last). */
export const serviceNames = ['auth', 'tickets', 'orders', 'payments', 'expiration'] as const;
/** Name of a service. */
export type ServiceName = (typeof serviceNames)[number];

/** The web shop's process: served at `/` by the gateway, like the ingress routes `/` to it. */
export const clientName = 'client';

/** The test cards the pay form offers for each local payments backend (stripe-mock declines no card). */
function testCardTokens(payments: PaymentsBackend): string {
  return payments.kind === DECLINING_BACKEND ? 'tok_visa,tok_chargeDeclined' : 'tok_visa';
}

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Gateway port (default `PORT` or 8080; 0 = any free port). */
  port?: number;
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
  /**
   * Jaeger, the services' spans sent to it (default `off`; `npm start`: `if-present`). Never when
   * `OTEL_EXPORTER_OTLP_ENDPOINT` is set: the services send their spans there.
   */
  jaeger?: JaegerMode;
}

/** One running service of the stack. */
export interface StackService {
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
  /** NATS URL. */
  natsUrl: string;
  /** Mongo base URL (each service has its own database on it). */
  mongoUrl: string;
  /** Each service's database name. */
  databases: Record<ServiceName, string>;
  /** The services. */
  services: Record<ServiceName, StackService>;
  /** The web shop (its pages are at {@link Stack.url}). */
  client: StackService;
  /** The embedded nats-server (absent when `NATS_URL` was given): tests stop and restart it. */
  nats?: NatsServerHandle;
  /** The Jaeger the stack runs (UI and query API at its `url`), when it runs one. */
  jaeger?: JaegerInfra;
  /** How infrastructure was provided. */
  infra: { nats: string; mongo: string; payments: string };
  /** Where stack.json is. */
  stateFile: string;
  /** Resolves once every service answers /readyz with 200. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Stops everything: gateway, services (gracefully), then the infrastructure the stack started. */
  stop(): Promise<void>;
}

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
 * Starts NATS, Mongo and the payments backend (or uses the configured ones), the five services as supervised
 * processes (a crashed one is restarted with back-off), and the gateway; writes `stack.json` for tools.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
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
      startStackNats(data).then(track),
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

    const services = {} as Record<ServiceName, StackService>;
    let client: StackService | undefined;
    const databases = {} as Record<ServiceName, string>;
    const stateFile = join(data, 'stack.json');
    const gatewayPort = options.port ?? Number(process.env.PORT ?? 8080);
    const gatewayListenPort = await freePort(gatewayPort);
    if (gatewayPort !== 0 && gatewayListenPort !== gatewayPort)
      throw new Error(`port ${gatewayPort} is in use (set PORT)`);
    const url = `http://127.0.0.1:${gatewayListenPort}`;

    // Every process of the stack, for tools that measure what each one costs (the bench reads their CPU).
    const processes = (): StackProcess[] => [
      ...[nats, mongo, payments, ...(jaeger ? [jaeger] : [])].flatMap((infra) => infra.processes()),
      ...Object.entries({ ...services, ...(client ? { [clientName]: client } : {}) }).flatMap(([role, s]) =>
        s.process.pid ? [{ role, pid: s.process.pid, port: s.port, url: s.url }] : [],
      ),
      // The gateway runs in this process, beside the supervisor and the merged log.
      { role: 'gateway', pid: process.pid, port: gatewayListenPort, url },
    ];
    const writeState = () => {
      const state = {
        gateway: { url, port: gatewayListenPort },
        nats: { url: nats.url, provided: nats.description },
        mongo: { url: mongo.url, provided: mongo.description, databases },
        payments: { url: payments.url, provided: payments.description },
        jaeger: jaeger && { url: jaeger.url, otlpEndpoint: jaeger.otlpEndpoint },
        services: Object.fromEntries(
          Object.entries(services).map(([name, s]) => [
            name,
            { pid: s.process.pid, port: s.port, url: s.url, restarts: s.process.restarts },
          ]),
        ),
        client: client && { pid: client.process.pid, port: client.port, url: client.url },
        pid: process.pid,
        processes: processes(),
      };
      writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
    };

    for (const name of serviceNames) {
      const port = await freePort();
      databases[name] = `${options.databasePrefix ?? 'ticketing'}-${name}`;
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        JWT_KEY: process.env.JWT_KEY ?? 'local-stack-dev-key-not-for-production',
        COOKIE_SECURE: process.env.COOKIE_SECURE ?? 'false',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
        ...options.env,
        ...(name === 'payments' ? payments.env : {}),
        ...(jaeger ? { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint } : {}),
        PORT: String(port),
        // Reachable only from this machine, so every outside client comes through the gateway, the one proxy
        // whose X-Forwarded-For the services believe (the gateway replaces whatever a client sent there).
        HOST: '127.0.0.1',
        TRUST_PROXY: 'loopback',
        MONGO_URL: mongoUrlWithDatabase(mongo.url, databases[name]),
        NATS_URL: nats.url,
      };
      const process_ = new SupervisedProcess({
        name,
        command: process.execPath,
        args: [join(repoRoot, 'services', name, 'dist', 'main.js')],
        cwd: join(repoRoot, 'services', name),
        env,
        log: new PrefixedLog(name, options.logTo),
        onStart: () => {
          if (services[name]) writeState();
        },
      });
      services[name] = { port, url: `http://127.0.0.1:${port}`, process: process_ };
      supervised.push(process_);
      process_.start();
    }

    const clientPort = await freePort();
    const clientProcess = new SupervisedProcess({
      name: clientName,
      command: process.execPath,
      args: [join(repoRoot, 'services', clientName, 'dist', 'server', 'main.js')],
      cwd: join(repoRoot, 'services', clientName),
      env: {
        ...process.env,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
        TEST_CARD_TOKENS: process.env.TEST_CARD_TOKENS ?? testCardTokens(payments as PaymentsBackend),
        ...options.env,
        PORT: String(clientPort),
      },
      log: new PrefixedLog(clientName, options.logTo),
      onStart: () => {
        if (client) writeState();
      },
    });
    client = { port: clientPort, url: `http://127.0.0.1:${clientPort}`, process: clientProcess };
    supervised.push(clientProcess);
    clientProcess.start();

    const located: Record<string, StackService> = { ...services, [clientName]: client };
    gateway = createGateway([...serviceNames, clientName], (name) => located[name]?.url);
    await new Promise<void>((resolve, reject) => {
      gateway!.once('error', reject);
      gateway!.listen(gatewayListenPort, '127.0.0.1', () => resolve());
    });
    writeState();

    const waitReady = async (timeoutMs = options.readyTimeoutMs ?? 90_000) => {
      const deadline = Date.now() + timeoutMs;
      await Promise.all(
        Object.entries(located).map(([name, running]) => waitForService(name, running.url, deadline)),
      );
    };

    return {
      url,
      natsUrl: nats.url,
      mongoUrl: mongo.url,
      nats: nats.handle,
      jaeger,
      databases,
      services,
      client,
      infra: {
        nats: nats.description,
        mongo: mongo.description,
        payments: (payments as PaymentsBackend).description,
      },
      stateFile,
      waitReady,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
