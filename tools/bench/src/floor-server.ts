import { fork } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express, { type Express } from 'express';
import { MeasurementError } from './errors';

/** A bare Express 5 app: `GET /` answers 200 `{}`, nothing else (no middleware, default settings). */
export function createEmptyApp(): Express {
  const app = express();
  app.get('/', (_req, res) => {
    res.status(200).json({});
  });
  return app;
}

/** A running empty server. */
export interface EmptyServer {
  /** Its base URL on 127.0.0.1. */
  url: string;
  /** Where it runs: its own process (as the services do) or this one. */
  where: 'process' | 'inline';
  /** Stops it. */
  stop(): Promise<void>;
}

/** Serves {@link createEmptyApp} on 127.0.0.1 and a free port, in this process. */
export async function listenEmptyApp(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createEmptyApp().listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The compiled entry of this module, which a child process runs; absent when running from sources (jest). */
export const floorServerScript = join(__dirname, 'floor-server.js');

/**
 * Starts the empty server. `process` (the default when the compiled script exists) runs it in a child process,
 * like every service runs in its own: the load generator then does not share its event loop. `inline` serves
 * it from this process (tests, which run from sources).
 */
export async function startEmptyServer(
  where: 'process' | 'inline' = existsSync(floorServerScript) ? 'process' : 'inline',
): Promise<EmptyServer> {
  if (where === 'inline') {
    const server = await listenEmptyApp();
    return { url: `http://127.0.0.1:${server.port}`, where, stop: () => server.close() };
  }
  const child = fork(floorServerScript, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port?: number }) => {
      if (typeof message.port === 'number') resolve(message.port);
      else reject(new MeasurementError('express floor', `unexpected message ${JSON.stringify(message)}`));
    });
    child.once('exit', (code) =>
      reject(new MeasurementError('express floor', `server exited (${code}) before listening`)),
    );
  });
  return {
    url: `http://127.0.0.1:${port}`,
    where,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

if (require.main === module) {
  // Child process: serve, tell the parent the port, go away with it.
  void listenEmptyApp().then((server) => {
    process.send?.({ port: server.port });
    const close = () => void server.close().then(() => process.exit(0));
    process.once('SIGTERM', close);
    process.once('disconnect', close);
  });
}
