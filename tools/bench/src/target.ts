import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { StackProcess } from '@ticketing/stack/stack';
import { mongoUrlWithDatabase } from '@ticketing/testing';
import { MongoClient } from 'mongodb';
import { StackStartError, StackStateError } from './errors';

/** The repository root (tools/bench/{src,dist}/ → ../../..). */
export const repoRoot = resolve(__dirname, '..', '..', '..');

/** Where a started stack keeps stack.json: `TICKETING_DATA_DIR` or `<repo>/.data`, as `npm start` does. */
export function stackDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TICKETING_DATA_DIR ?? join(repoRoot, '.data');
}

/** What the bench needs from stack.json. */
export interface StackState {
  /** Gateway base URL. */
  gatewayUrl: string;
  /** NATS URL. */
  natsUrl: string;
  /** Mongo base URL. */
  mongoUrl: string;
  /** How Mongo was provided (`MONGO_URL`, embedded …). */
  mongoProvided: string;
  /** Each service's database name. */
  databases: Record<string, string>;
  /** Each service's own base URL (behind the gateway), when stack.json lists it. */
  serviceUrls: Record<string, string>;
  /** Every process the stack runs (`processes`; empty in the stack.json of an older stack). */
  processes: StackProcess[];
}

function field(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>(
    (at, key) => (typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined),
    value,
  );
}

/** The `processes` of stack.json; {@link StackStateError} on an entry without a role, a pid or a port. */
function parseProcesses(value: unknown, file: string): StackProcess[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new StackStateError(file, 'processes is not a list');
  return value.map((entry: unknown, i) => {
    const { role, pid, port, url } = (entry ?? {}) as Record<string, unknown>;
    if (typeof role !== 'string' || role === '' || !Number.isInteger(pid) || !Number.isInteger(port))
      throw new StackStateError(file, `processes[${i}] needs a role, a pid and a port`);
    return { role, pid: pid as number, port: port as number, ...(typeof url === 'string' ? { url } : {}) };
  });
}

/** Reads the parts of stack.json the bench uses; {@link StackStateError} when unreadable or incomplete. */
export function parseStackState(text: string, file = 'stack.json'): StackState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StackStateError(file, `not JSON (${(error as Error).message})`, { cause: error });
  }
  const text_ = (path: string[]): string => {
    const value = field(json, path);
    if (typeof value !== 'string' || value === '')
      throw new StackStateError(file, `${path.join('.')} is missing`);
    return value;
  };
  const databases = field(json, ['mongo', 'databases']);
  if (typeof databases !== 'object' || databases === null)
    throw new StackStateError(file, 'mongo.databases is missing');
  for (const service of ['tickets', 'orders', 'payments']) {
    if (typeof (databases as Record<string, unknown>)[service] !== 'string') {
      throw new StackStateError(file, `mongo.databases.${service} is missing`);
    }
  }
  return {
    gatewayUrl: text_(['gateway', 'url']),
    natsUrl: text_(['nats', 'url']),
    mongoUrl: text_(['mongo', 'url']),
    mongoProvided: typeof field(json, ['mongo', 'provided']) === 'string' ? text_(['mongo', 'provided']) : '',
    databases: databases as Record<string, string>,
    serviceUrls: Object.fromEntries(
      Object.entries((field(json, ['services']) ?? {}) as Record<string, unknown>).flatMap(
        ([name, service]) => {
          const url = field(service, ['url']);
          return typeof url === 'string' ? [[name, url]] : [];
        },
      ),
    ),
    processes: parseProcesses(field(json, ['processes']), file),
  };
}

/**
 * True unless `url` answers with `Connection: close`. autocannon writes its next request on a connection as
 * soon as a response ends; when the server closes it after each response, the requests left in its queue are
 * matched with later responses and the latencies it reports are wrong.
 */
export function keepsConnectionsAlive(url: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const agent = new Agent({ keepAlive: true });
    const request = get(url, { agent }, (response) => {
      response.resume();
      response.on('end', () => {
        agent.destroy();
        resolve((response.headers.connection ?? '').toLowerCase() !== 'close');
      });
    });
    request.on('error', (error) => {
      agent.destroy();
      reject(error);
    });
    request.setTimeout(10_000, () => request.destroy(new Error(`${url} did not answer within 10 s`)));
  });
}

/** True when the gateway answers `GET /api/health` with 200 (every service ready). */
export async function gatewayHealthy(gatewayUrl: string, timeoutMs = 5000): Promise<boolean> {
  try {
    const response = await fetch(`${gatewayUrl}/api/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The stack the bench measures. */
export interface BenchTarget extends StackState {
  /** `running`: found through stack.json; `started`: the bench started it and stops it at the end. */
  mode: 'running' | 'started';
  /** One line saying which stack this is. */
  description: string;
  /** Stops what the bench started (nothing for a running stack). */
  stop(): Promise<void>;
}

/** A running stack from `<dataDir>/stack.json` whose gateway is healthy, or why there is none. */
export async function findRunningStack(
  dataDir: string,
): Promise<{ target: BenchTarget; reason?: undefined } | { target?: undefined; reason: string }> {
  const file = join(dataDir, 'stack.json');
  if (!existsSync(file)) return { reason: `no ${file}` };
  let state: StackState;
  try {
    state = parseStackState(readFileSync(file, 'utf8'), file);
  } catch (error) {
    return { reason: (error as Error).message };
  }
  if (!(await gatewayHealthy(state.gatewayUrl))) {
    return { reason: `${file} names ${state.gatewayUrl}, whose /api/health does not answer 200` };
  }
  return {
    target: {
      ...state,
      mode: 'running',
      description: `running stack at ${state.gatewayUrl} (${file})`,
      stop: async () => undefined,
    },
  };
}

/** Options of {@link startOwnStack}. */
export interface OwnStackOptions {
  /** Extra env for the services (on top of the bench's). */
  env: Record<string, string>;
  /** How long to wait for readiness, in ms. */
  readyTimeoutMs: number;
  /** Keep the temporary data directory (and its stack.log) after stopping. */
  keepData?: boolean;
}

/** The compiled entry that hosts a stack in a child process. */
export const stackHostScript = join(__dirname, 'stack-host.js');

/** Message from the stack host. */
export type HostMessage = { type: 'ready' } | { type: 'error'; message: string };

async function dropDatabases(state: StackState): Promise<void> {
  const client = new MongoClient(mongoUrlWithDatabase(state.mongoUrl, 'admin'), {
    serverSelectionTimeoutMS: 5000,
  });
  try {
    await client.connect();
    for (const name of Object.values(state.databases)) {
      await client
        .db(name)
        .dropDatabase()
        .catch(() => undefined);
    }
  } finally {
    await client.close();
  }
}

/**
 * Starts a stack of its own with `startStack({ port: 0, dataDir: <temp> })` in a child process (so that its
 * gateway does not share the load generator's event loop), waits until every service is ready and reads its
 * stack.json. Its databases get a fresh prefix; stop() stops it, drops them when Mongo was external and removes
 * the temporary directory.
 */
export async function startOwnStack(options: OwnStackOptions): Promise<BenchTarget & { logFile: string }> {
  if (!existsSync(stackHostScript)) throw new StackStartError(`${stackHostScript} is missing: build first`);
  const dataDir = await mkdtemp(join(tmpdir(), 'ticketing-bench-'));
  // mkdtemp makes it 0700: a root bench runs PostgreSQL as `postgres`, which must reach its cluster inside.
  await chmod(dataDir, 0o711);
  const logFile = join(dataDir, 'stack.log');
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  // The host's own output (e.g. mongodb-memory-server failing offline before FerretDB is used) goes to the log.
  const output = openSync(logFile, 'a');
  const child: ChildProcess = fork(stackHostScript, [], {
    env: {
      ...process.env,
      BENCH_STACK_DATA_DIR: dataDir,
      BENCH_STACK_LOG: logFile,
      BENCH_STACK_PREFIX: prefix,
      BENCH_STACK_ENV: JSON.stringify(options.env),
      BENCH_STACK_READY_MS: String(options.readyTimeoutMs),
    },
    stdio: ['ignore', output, output, 'ipc'],
  });
  closeSync(output);
  const stopChild = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  const cleanUp = async () => {
    if (!options.keepData) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolveReady, reject) => {
      child.on('message', (message: HostMessage) => {
        if (message.type === 'ready') resolveReady();
        else reject(new StackStartError(`the stack did not start: ${message.message} (log: ${logFile})`));
      });
      child.once('exit', (code, signal) =>
        reject(
          new StackStartError(
            `the stack host exited (${signal ?? `code ${code}`}) before ready (log: ${logFile})`,
          ),
        ),
      );
    });
  } catch (error) {
    await stopChild();
    throw error;
  }
  const state = parseStackState(
    readFileSync(join(dataDir, 'stack.json'), 'utf8'),
    join(dataDir, 'stack.json'),
  );
  return {
    ...state,
    mode: 'started',
    logFile,
    description: `stack started by the bench at ${state.gatewayUrl} (data and log in ${dataDir}; Mongo: ${state.mongoProvided})`,
    async stop() {
      await stopChild();
      if (state.mongoProvided === 'MONGO_URL') await dropDatabases(state).catch(() => undefined);
      await cleanUp();
    },
  };
}
