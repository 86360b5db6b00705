import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMap, parseNatsConf } from './nats-conf';
import { findTool } from './repo';

/** nats-server: NATS_SERVER_BIN, the tools folders (.ci/install-tools.sh), or PATH. */
export function natsServerBinary(): string {
  return findTool('nats-server', { overrideVar: 'NATS_SERVER_BIN' });
}

/** Writes the ConfigMap's files into a new temporary folder; returns the folder. */
export function writeConfigFiles(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'infra-check-nats-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** `nats-server -t`: nats-server's own verdict on a config, with the environment it will run with. */
export function testNatsConfig(
  configFile: string,
  env: Record<string, string>,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(
      natsServerBinary(),
      ['-t', '-c', configFile],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ ok: !error, output: `${stdout}${stderr}`.trim() }),
    );
  });
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** What {@link startServerProcess} starts. */
export interface ServerProcessOptions {
  /** For messages. */
  name: string;
  command: string;
  args: string[];
  /** Its whole environment (default this process's). */
  env?: NodeJS.ProcessEnv;
  /** Resolves true once it serves (a throw or false: not yet). */
  ready(): Promise<boolean>;
  timeoutMs: number;
  /** Runs after it has exited (e.g. removes its files). */
  cleanup?(): void;
}

/**
 * Starts a server as a child process and resolves once `ready` says it serves; rejects with the end of its
 * stderr when it exits first or is not ready in time (and stops it).
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<{ stop(): Promise<void> }> {
  const child: ChildProcess = spawn(options.command, options.args, {
    env: options.env ?? process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    options.cleanup?.();
  };
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`${options.name} exited with ${child.exitCode}:\n${log}`);
    }
    if (await options.ready().catch(() => false)) return { stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.name} was not ready within ${options.timeoutMs / 1000} s:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A nats-server started from a config file, on free local ports, with its own store. */
export interface RunningNats {
  url: string;
  /** The monitoring endpoint (`/varz`, `/jsz`...). */
  monitorUrl: string;
  stop(): Promise<void>;
}

/**
 * Runs nats-server on the config files of a ConfigMap as they are, except for what only fits inside the pod:
 * the ports (free local ones, by flag), the JetStream store and the pid file (the paths the config names are
 * replaced by temporary ones). Resolves once the monitoring endpoint says JetStream is up.
 */
export async function runNats(
  files: Record<string, string>,
  env: Record<string, string>,
  options: { onStopped?(storeDir: string): void } = {},
): Promise<RunningNats> {
  const work = mkdtempSync(join(tmpdir(), 'infra-check-nats-run-'));
  const conf = parseNatsConf('nats.conf', files);
  const jetstream = conf.jetstream;
  const replacements: Array<[string, string]> = [];
  if (isMap(jetstream) && typeof jetstream.store_dir === 'string') {
    replacements.push([jetstream.store_dir, join(work, 'store')]);
  }
  if (typeof conf.pid_file === 'string') replacements.push([conf.pid_file, join(work, 'nats.pid')]);
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(
      join(work, name),
      replacements.reduce((t, [from, to]) => t.split(from).join(to), text),
    );
  }
  const [port, monitor] = [await freePort(), await freePort()];
  const args = ['-c', join(work, 'nats.conf'), '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor)];
  const { stop } = await startServerProcess({
    name: 'nats-server',
    command: natsServerBinary(),
    args,
    env: { PATH: process.env.PATH ?? '', ...env },
    ready: async () => (await fetch(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`)).ok,
    timeoutMs: 30_000,
    cleanup: () => {
      // What the server left on disk, for checks of the store itself, before it goes.
      options.onStopped?.(join(work, 'store'));
      rmSync(work, { recursive: true, force: true });
    },
  });
  return { url: `nats://127.0.0.1:${port}`, monitorUrl: `http://127.0.0.1:${monitor}`, stop };
}
