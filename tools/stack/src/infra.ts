import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type NatsServerHandle, startNats, startStripeSandbox } from '@ticketing/testing';
import { PrefixedLog } from './log';
import { freePort, waitForPort } from './ports';
import { findPostgresBinDir, startFerretDbOnPostgres } from './postgres';
import { SupervisedProcess } from './supervisor';
import { stackToolResolver, type ToolResolver } from './tools';

/**
 * A process of the stack as `stack.json` lists it under `processes`: tools such as the bench read
 * the CPU each one spends from /proc/<pid>/stat.
 */
export interface StackProcess {
  /** `nats` (`nats-n1`… in a cluster), a service's name, `client`, `gateway`, `ferretdb`, `postgres` (the postmaster), `mongod`, `stripe-mock`. */
  role: string;
  /** Which replica of its service it is (1, 2…), for a service's processes. */
  replica?: number;
  /** Its process id (as of the last time stack.json was written: a restarted process gets a new one). */
  pid: number;
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** Its base URL, for those spoken to by URL. */
  url?: string;
}

/** A piece of infrastructure the stack uses: where it is and how to stop what the stack started. */
export interface Infra {
  /** Connection URL. */
  url: string;
  /** How it came to be, for the banner. */
  description: string;
  /** The processes the stack runs for it; none for what it was only given the address of. */
  processes(): StackProcess[];
  /** Stops it if the stack started it. */
  stop(): Promise<void>;
}

/** The port of a `scheme://host:port/…` URL. */
function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Reads a pid file; undefined while it is absent (not started yet, or removed at exit). */
function pidFrom(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const none = (): StackProcess[] => [];

/** One nats-server the stack runs. */
export interface StackNatsNode {
  /** Its server name (`n1`, `n2`…; `nats` when alone). */
  name: string;
  /** Its client URL. */
  url: string;
  /** Stop, restart (same port and store) and close it. */
  handle: NatsServerHandle;
  /** Its pid, as the server last wrote it (after a restart, the new one). */
  pid(): number | undefined;
}

/** The NATS the stack uses: its URL (every node's, comma-separated) and the servers it runs for it. */
export interface StackNats extends Infra {
  /** The servers the stack runs (none when `NATS_URL` was given). */
  nodes: StackNatsNode[];
}

/** Starts one nats-server of the stack, its pid written to `<data>/<name>.pid` (again after each restart). */
async function startNatsNode(
  data: string,
  name: string,
  port: number,
  storeDir: string,
  args: string[],
): Promise<StackNatsNode> {
  // The handle does not expose the server's pid; nats-server writes it (again after a restart) to this file.
  const pidFile = join(data, `${name === 'nats' ? 'nats-server' : `nats-${name}`}.pid`);
  const handle = await startNats({
    own: true,
    port,
    storeDir,
    detached: true,
    args: ['--pid', pidFile, ...args],
  });
  return { name, url: handle.url, handle, pid: () => pidFrom(pidFile) };
}

/**
 * NATS: `NATS_URL` when set, else an embedded nats-server with JetStream, data in `<data>/nats` (the binary found,
 * downloaded or built: {@link ToolResolver}); with `nodes` > 1, a cluster of that many on loopback (routes between
 * them, JetStream on each, data in `<data>/nats-cluster/n1`…), the first node on `NATS_PORT` (default 4222).
 */
export async function startStackNats(
  data: string,
  tools: ToolResolver = stackToolResolver(),
  nodes = 1,
  preferredPort = Number(process.env.NATS_PORT ?? 4222),
): Promise<StackNats> {
  if (process.env.NATS_URL) {
    if (nodes > 1) throw new Error('STACK_NATS_NODES needs the stack’s own nats-servers: unset NATS_URL');
    return {
      url: process.env.NATS_URL,
      description: 'NATS_URL',
      nodes: [],
      processes: none,
      stop: async () => undefined,
    };
  }
  // startNats finds the same binary again (PATH, the tools cache) once it is there.
  await tools.resolve('nats-server');
  const firstPort = await freePort(preferredPort);
  let started: StackNatsNode[];
  let description: string;
  if (nodes === 1) {
    started = [await startNatsNode(data, 'nats', firstPort, join(data, 'nats'), [])];
    description = `embedded nats-server with JetStream, data in ${join(data, 'nats')}`;
  } else {
    const clientPorts = [firstPort];
    const routePorts: number[] = [];
    for (let i = 0; i < nodes; i++) {
      if (i > 0) clientPorts.push(await freePort());
      routePorts.push(await freePort());
    }
    const routes = routePorts.map((port) => `nats://127.0.0.1:${port}`).join(',');
    const dir = join(data, 'nats-cluster');
    // All at once: a node's JetStream answers only once a majority of the cluster is up and has a meta leader.
    const results = await Promise.allSettled(
      clientPorts.map((port, i) => {
        const name = `n${i + 1}`;
        return startNatsNode(data, name, port, join(dir, name), [
          '--name',
          name,
          '--cluster_name',
          'ticketing',
          '--cluster',
          `nats://127.0.0.1:${routePorts[i]}`,
          '--routes',
          routes,
        ]);
      }),
    );
    started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((node) => node.handle.close()));
      throw (failed as PromiseRejectedResult).reason;
    }
    description = `embedded ${nodes}-node nats-server cluster with JetStream, data in ${dir}`;
  }
  return {
    url: started.map((node) => node.url).join(','),
    description,
    nodes: started,
    processes: () =>
      started.flatMap((node) => {
        const pid = node.pid();
        return pid
          ? [
              {
                role: node.name === 'nats' ? 'nats' : `nats-${node.name}`,
                pid,
                port: node.handle.port,
                url: node.url,
              },
            ]
          : [];
      }),
    stop: async () => {
      await Promise.all(started.map((node) => node.handle.close()));
    },
  };
}

/**
 * Mongo: `MONGO_URL` when set; else mongodb-memory-server (a real mongod) with its data in `<data>/mongo`; else
 * (no mongod can be had, e.g. offline) FerretDB on a private PostgreSQL cluster in `<data>/postgres` when
 * PostgreSQL's binaries are installed; else FerretDB on SQLite in `<data>/ferretdb`, the slow last resort.
 */
export async function startStackMongo(
  data: string,
  log: PrefixedLog,
  tools: ToolResolver = stackToolResolver(),
): Promise<Infra> {
  if (process.env.MONGO_URL) {
    return {
      url: process.env.MONGO_URL,
      description: 'MONGO_URL',
      processes: none,
      stop: async () => undefined,
    };
  }
  let memoryServerError: unknown;
  try {
    const { MongoMemoryServer } = await import('mongodb-memory-server-core');
    // Offline, the download of mongod fails: one attempt is enough to know.
    process.env.MONGOMS_MAX_RETRIES ??= '1';
    const dbPath = join(data, 'mongo');
    mkdirSync(dbPath, { recursive: true });
    const server = await MongoMemoryServer.create({ instance: { dbPath, storageEngine: 'wiredTiger' } });
    const url = server.getUri();
    return {
      url,
      description: `mongodb-memory-server, data in ${dbPath}`,
      processes: () => {
        const pid = server.instanceInfo?.instance.mongodProcess?.pid;
        return pid ? [{ role: 'mongod', pid, port: portOf(url) }] : [];
      },
      stop: async () => {
        await server.stop({ doCleanup: false });
      },
    };
  } catch (error) {
    memoryServerError = error;
  }
  const why = (memoryServerError as Error).message.split('\n')[0];
  const port = Number(process.env.MONGO_PORT ?? 27017);
  let ferretdb: string;
  try {
    ferretdb = await tools.resolve('ferretdb');
  } catch (error) {
    throw new Error(
      `no Mongo: MONGO_URL is not set, mongodb-memory-server failed (${why}) and FerretDB could not be built: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const postgresBin = await findPostgresBinDir();
  if (postgresBin) {
    log.line(`mongodb-memory-server unavailable (${why}); using FerretDB on PostgreSQL`);
    return startFerretDbOnPostgres(postgresBin, {
      dir: join(data, 'postgres'),
      port,
      log: { postgres: new PrefixedLog('postgres', log.out), ferretdb: log },
    });
  }
  log.line(
    `mongodb-memory-server unavailable (${why}) and PostgreSQL not installed; using FerretDB on SQLite, which is SLOW (apt-get install postgresql for FerretDB on PostgreSQL)`,
  );
  const dir = join(data, 'ferretdb');
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'state'), { recursive: true });
  const listenPort = await freePort(port);
  const process_ = new SupervisedProcess({
    name: 'ferretdb',
    command: ferretdb,
    args: [
      '--handler=sqlite',
      `--sqlite-url=file:${join(dir, 'data')}/`,
      `--listen-addr=127.0.0.1:${listenPort}`,
      `--state-dir=${join(dir, 'state')}`,
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=error',
    ],
    env: process.env,
    log,
  });
  process_.start();
  await waitForPort(listenPort, 20_000);
  const url = `mongodb://127.0.0.1:${listenPort}/`;
  return {
    url,
    description: `embedded FerretDB on SQLite (slow), data in ${dir}`,
    processes: () => (process_.pid ? [{ role: 'ferretdb', pid: process_.pid, port: listenPort, url }] : []),
    stop: () => process_.stop(),
  };
}

/** How payments charges cards in the local stack. */
export interface PaymentsBackend extends Infra {
  /** Env for the payments service. */
  env: Record<string, string>;
  /** `sandbox` when it is the test kit's Stripe sandbox. */
  kind?: typeof DECLINING_BACKEND;
}

/** Payments backends that decline a card (tok_chargeDeclined): the pay form offers it. */
export const DECLINING_BACKEND = 'sandbox';

/** The Stripe sandbox of the test kit, in this process: no Stripe at all, its answers kept in the data dir. */
async function sandboxPayments(dir: string): Promise<PaymentsBackend> {
  mkdirSync(dir, { recursive: true });
  const sandbox = await startStripeSandbox({ file: join(dir, 'stripe-sandbox.jsonl') });
  return {
    url: sandbox.url,
    description: `Stripe sandbox at ${sandbox.url} (no money moves: tok_visa charged, tok_chargeDeclined declined)`,
    kind: DECLINING_BACKEND,
    env: { STRIPE_SECRET_KEY: sandbox.secretKey, STRIPE_API_URL: sandbox.url },
    processes: none,
    stop: () => sandbox.close(),
  };
}

/**
 * stripe-mock (`STRIPE_MOCK_URL`, or the binary from PATH or the tools cache, built when missing), else the
 * Stripe sandbox; `sandbox` picks the sandbox whatever is configured (it is the backend that declines a card:
 * tok_chargeDeclined).
 */
export async function startPaymentsBackend(
  dir: string,
  log: PrefixedLog,
  sandbox = false,
  tools: ToolResolver = stackToolResolver(),
): Promise<PaymentsBackend> {
  if (sandbox) return sandboxPayments(dir);
  const key = process.env.STRIPE_SECRET_KEY ?? 'sk_test_localstack';
  if (process.env.STRIPE_API_URL) {
    return {
      url: process.env.STRIPE_API_URL,
      description: `Stripe API at STRIPE_API_URL`,
      env: { STRIPE_SECRET_KEY: key, STRIPE_API_URL: process.env.STRIPE_API_URL },
      processes: none,
      stop: async () => undefined,
    };
  }
  if (process.env.STRIPE_MOCK_URL) {
    return {
      url: process.env.STRIPE_MOCK_URL,
      description: 'stripe-mock at STRIPE_MOCK_URL',
      env: { STRIPE_SECRET_KEY: key, STRIPE_API_URL: process.env.STRIPE_MOCK_URL },
      processes: none,
      stop: async () => undefined,
    };
  }
  const binary = await tools.optional('stripe-mock', 'payments falls back to the Stripe sandbox');
  if (binary) {
    const port = await freePort();
    // stripe-mock also serves HTTPS (default :12112 on every interface) unless told where: keep it local and free.
    const httpsPort = await freePort();
    const mock = new SupervisedProcess({
      name: 'stripe-mock',
      command: binary,
      args: ['-http-addr', `127.0.0.1:${port}`, '-https-addr', `127.0.0.1:${httpsPort}`],
      env: process.env,
      log,
    });
    mock.start();
    await waitForPort(port, 20_000);
    const url = `http://127.0.0.1:${port}`;
    return {
      url,
      description: `embedded stripe-mock at ${url}`,
      env: { STRIPE_SECRET_KEY: key, STRIPE_API_URL: url },
      processes: () => (mock.pid ? [{ role: 'stripe-mock', pid: mock.pid, port, url }] : []),
      stop: () => mock.stop(),
    };
  }
  log.line(
    'stripe-mock unavailable: payments charges through the Stripe SANDBOX (no money moves; tok_visa is charged, tok_chargeDeclined is declined)',
  );
  return sandboxPayments(dir);
}

/** Jaeger all-in-one, as the stack runs it: spans in over OTLP/HTTP, the query API and UI beside. */
export interface JaegerInfra extends Infra {
  /** The UI and query API (`/api/traces`, `/api/services`). */
  url: string;
  /** What the services get as `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  otlpEndpoint: string;
}

/** Whether the stack runs Jaeger: when it is installed (`npm start`), building it when missing, or never. */
export type JaegerMode = 'if-present' | 'build' | 'off';

/**
 * Jaeger (v2, the OpenTelemetry-collector based all-in-one) with its spans in memory, every port on loopback:
 * the UI and query API on `JAEGER_PORT` (default 16686, else any free port), OTLP/HTTP and the rest on free
 * ports. Undefined when the mode or the tools say no, or (`if-present`) when it does not start: tracing is
 * optional, the stack runs without it.
 */
export async function startStackJaeger(
  data: string,
  log: PrefixedLog,
  mode: JaegerMode,
  tools: ToolResolver = stackToolResolver(),
): Promise<JaegerInfra | undefined> {
  if (mode === 'off') return undefined;
  const binary = mode === 'build' ? await tools.resolve('jaeger') : tools.present('jaeger');
  if (!binary) return undefined;
  const [uiPort, queryGrpcPort, otlpPort, healthPort] = [
    await freePort(Number(process.env.JAEGER_PORT ?? 16686)),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const configFile = join(data, 'jaeger.yaml');
  writeFileSync(configFile, jaegerConfig({ uiPort, queryGrpcPort, otlpPort, healthPort }));
  const process_ = new SupervisedProcess({
    name: 'jaeger',
    command: binary,
    args: ['--config', configFile],
    env: withoutOtelVariables(process.env),
    log,
  });
  process_.start();
  try {
    await waitForPort(uiPort, 30_000);
    await waitForPort(otlpPort, 30_000);
  } catch (error) {
    await process_.stop();
    if (mode === 'build') throw error;
    log.line(`Jaeger did not start (${(error as Error).message}); the stack runs without traces`);
    return undefined;
  }
  const url = `http://127.0.0.1:${uiPort}`;
  return {
    url,
    otlpEndpoint: `http://127.0.0.1:${otlpPort}`,
    description: `Jaeger at ${url} (spans in memory; OTLP/HTTP on 127.0.0.1:${otlpPort})`,
    processes: () => (process_.pid ? [{ role: 'jaeger', pid: process_.pid, port: uiPort, url }] : []),
    stop: () => process_.stop(),
  };
}

/** The environment without OpenTelemetry's variables: they are for the services, not for Jaeger's own spans. */
function withoutOtelVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('OTEL_')));
}

/** The collector configuration: OTLP/HTTP in, batched into the memory store, queried by jaeger_query. */
function jaegerConfig(ports: {
  uiPort: number;
  queryGrpcPort: number;
  otlpPort: number;
  healthPort: number;
}): string {
  return `# Written by the stack (tools/stack/src/infra.ts) for this run.
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    traces:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${ports.healthPort}
  jaeger_query:
    # On by default: the query service would trace itself, to an OTLP/gRPC endpoint on 127.0.0.1:4317.
    enable_tracing: false
    storage:
      traces: memory
    http:
      endpoint: 127.0.0.1:${ports.uiPort}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpcPort}
  jaeger_storage:
    backends:
      memory:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlpPort}
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: memory
`;
}
