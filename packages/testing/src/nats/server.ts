import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ExternalServerError, NatsServerStartError, TestingError } from '../errors';
import { type FindNatsServerOptions, findNatsServer } from './binary';

/** A NATS server for tests: one this process started, or the one `NATS_URL` points at. */
export interface NatsServerHandle {
  /** Client URL, e.g. `nats://127.0.0.1:41234`. */
  url: string;
  /** Client port; stays the same across stop()/restart(). */
  port: number;
  /** JetStream store directory (empty string for an external server). */
  storeDir: string;
  /** True when the server came from `NATS_URL` and cannot be stopped or restarted from here. */
  external: boolean;
  /** Ends the server process (SIGTERM, then SIGKILL) and waits for it; keeps the port and the store. */
  stop(): Promise<void>;
  /** Starts the server again on the same port with the same store and waits until JetStream answers. */
  restart(): Promise<void>;
  /** Stops the server and deletes its store directory; safe to call twice. */
  close(): Promise<void>;
}

/** Options of {@link startNats}. */
export interface StartNatsOptions {
  /** Start a private server even when `NATS_URL` is set (needed to stop or restart it). */
  own?: boolean;
  /** nats-server binary to run; default {@link findNatsServer}. */
  binary?: string;
  /** Client port to listen on; default a free port chosen by the server. */
  port?: number;
  /** Extra nats-server command-line arguments. */
  args?: string[];
  /** JetStream store directory to use and keep (created if missing); default a temporary one removed by close(). */
  storeDir?: string;
  /** Run the server in its own process group, so a Ctrl-C to the terminal does not stop it before its clients. */
  detached?: boolean;
  /** How long to wait for the server to accept clients with JetStream ready; default 30000 ms. */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL; default 5000 ms. */
  stopTimeoutMs?: number;
  /** Where a download of nats-server, if one is needed, comes from and goes to. */
  download?: FindNatsServerOptions;
}

/**
 * A NATS server with JetStream for tests: the running one at `NATS_URL` (unless `own`), else a real nats-server
 * on a random port with a temporary store, returned once clients can use JetStream on it.
 */
export async function startNats(options: StartNatsOptions = {}): Promise<NatsServerHandle> {
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const externalUrl = process.env.NATS_URL;
  if (externalUrl && options.own !== true) {
    const handle = new ExternalNatsServer(externalUrl);
    await waitForJetStream(
      externalUrl,
      Date.now() + startTimeoutMs,
      () => new NatsServerStartError(`NATS_URL=${externalUrl} does not answer JetStream requests`),
    );
    return handle;
  }
  const binary = options.binary ?? (await findNatsServer(options.download));
  const ownsStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), 'ticketing-nats-')));
  if (!ownsStore) await mkdir(storeDir, { recursive: true });
  const server = new OwnedNatsServer(
    binary,
    storeDir,
    ownsStore,
    options.detached ?? false,
    options.args ?? [],
    startTimeoutMs,
    options.stopTimeoutMs ?? 5_000,
  );
  try {
    await server.launch(options.port ?? -1);
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}

class ExternalNatsServer implements NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir = '';
  readonly external = true;

  constructor(url: string) {
    this.url = url;
    this.port = portOf(url);
  }

  stop(): Promise<void> {
    return Promise.reject(new ExternalServerError('stop', this.url));
  }

  restart(): Promise<void> {
    return Promise.reject(new ExternalServerError('restart', this.url));
  }

  close(): Promise<void> {
    // Someone else runs this server; closing a test's view of it must leave it alone.
    return Promise.resolve();
  }
}

const LOG_TAIL_LINES = 40;

class OwnedNatsServer implements NatsServerHandle {
  url = '';
  port = 0;
  readonly external = false;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly logTail: string[] = [];
  private lineListener: ((line: string) => void) | undefined;

  constructor(
    private readonly binary: string,
    readonly storeDir: string,
    private readonly ownsStore: boolean,
    private readonly detached: boolean,
    private readonly extraArgs: string[],
    private readonly startTimeoutMs: number,
    private readonly stopTimeoutMs: number,
  ) {
    trackServer(this);
  }

  async launch(port: number): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    const args = ['-js', '-sd', this.storeDir, '-a', '127.0.0.1', '-p', String(port), ...this.extraArgs];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: this.detached });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));

    // The server picks the port itself (`-p -1`) and logs it, so no other process can take it between our
    // choosing it and the server binding it.
    this.port = await this.waitForLog(child, deadline);
    this.url = `nats://127.0.0.1:${this.port}`;
    await waitForJetStream(this.url, deadline, () => this.startError('does not answer JetStream requests'));
    // A test that forgets close() must not keep jest alive; the exit hook still kills the server.
    child.unref();
    unrefStream(child.stderr);
  }

  private waitForLog(child: ChildProcess, deadline: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let port: number | undefined;
      let partial = '';
      const timer = setTimeout(
        () => {
          cleanup();
          child.kill('SIGKILL');
          reject(this.startError(`was not ready after ${this.startTimeoutMs} ms`));
        },
        Math.max(0, deadline - Date.now()),
      );
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        cleanup();
        reject(this.startError(`exited during start-up (${signal ?? `code ${code}`})`));
      };
      const onError = (err: Error) => {
        cleanup();
        reject(new NatsServerStartError(`cannot run ${this.binary}: ${err.message}`, { cause: err }));
      };
      const onLine = (line: string) => {
        const listening = /Listening for client connections on \S+:(\d+)/.exec(line);
        if (listening) port = Number(listening[1]);
        if (/Server is ready/.test(line) && port !== undefined) {
          cleanup();
          resolve(port);
        }
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        this.lineListener = undefined;
      };
      this.lineListener = onLine;
      child.once('exit', onExit);
      child.once('error', onError);
      // The log must be drained for the server's whole life, or a full pipe would block its writes.
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          this.logTail.push(line);
          if (this.logTail.length > LOG_TAIL_LINES) this.logTail.shift();
          this.lineListener?.(line);
        }
      });
    });
  }

  private startError(what: string): NatsServerStartError {
    return new NatsServerStartError(
      `nats-server (${this.binary}, store ${this.storeDir}) ${what}; last log lines:\n${this.logTail.join('\n')}`,
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    // Held again so that awaiting the exit keeps a plain script alive until the process is gone.
    child.ref();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), this.stopTimeoutMs);
      try {
        await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    this.child = undefined;
  }

  async restart(): Promise<void> {
    if (this.closed)
      throw new TestingError('SERVER_CLOSED', `nats-server at ${this.url} was closed; start a new one`);
    await this.stop();
    const port = this.port;
    await this.launch(port);
    if (this.port !== port) {
      throw this.startError(`came back on port ${this.port} instead of ${port}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.stop();
      if (this.ownsStore) await rm(this.storeDir, { recursive: true, force: true });
    } finally {
      untrackServer(this);
    }
  }

  /** Synchronous last-resort clean-up, for the process 'exit' event where nothing async runs any more. */
  killAtExit(): void {
    this.child?.kill('SIGKILL');
    if (!this.ownsStore) return;
    try {
      rmSync(this.storeDir, { recursive: true, force: true });
    } catch {
      // A store the dying server still writes to may resist removal; the OS temp dir cleans it eventually.
    }
  }
}

async function waitForJetStream(url: string, deadline: number, onTimeout: () => Error): Promise<void> {
  let lastError: unknown;
  do {
    try {
      const nc = await connect({ servers: splitServers(url), reconnect: false, timeout: 2_000 });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.getAccountInfo();
        return;
      } finally {
        await nc.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } while (Date.now() < deadline);
  const error = onTimeout();
  error.message += ` (last error: ${(lastError as Error | undefined)?.message ?? 'none'})`;
  throw error;
}

/** `NATS_URL` style lists (`nats://a:4222,nats://b:4222`) as the client wants them. */
export function splitServers(servers: string): string[] {
  return servers
    .split(',')
    .map((server) => server.trim())
    .filter((server) => server !== '');
}

function portOf(url: string): number {
  const first = url.split(',')[0]!.trim();
  try {
    const parsed = new URL(first.includes('://') ? first : `nats://${first}`);
    return parsed.port ? Number(parsed.port) : 4222;
  } catch {
    return 4222;
  }
}

function unrefStream(stream: unknown): void {
  (stream as { unref?: () => void } | null)?.unref?.();
}

// Servers not closed when the process exits (a crashed or careless test) are killed and their stores removed
// rather than left behind.
const openServers = new Set<OwnedNatsServer>();

function cleanUpAtExit(): void {
  for (const server of openServers) server.killAtExit();
}

function trackServer(server: OwnedNatsServer): void {
  // Registered only while servers are open, so jest's many test files do not pile up exit listeners.
  if (openServers.size === 0) process.on('exit', cleanUpAtExit);
  openServers.add(server);
}

function untrackServer(server: OwnedNatsServer): void {
  openServers.delete(server);
  if (openServers.size === 0) process.off('exit', cleanUpAtExit);
}
