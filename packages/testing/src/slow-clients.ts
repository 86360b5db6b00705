import { connect, type Socket } from 'node:net';

/** One slowloris connection: it sends request headers a line at a time and never finishes them. */
export interface SlowClient {
  /** When the server closed the connection (ms since the epoch), once it did. */
  closedAt?: number;
  /** What the server sent before closing (a 408 answer, if anything). */
  received: string;
}

/** A group of {@link SlowClient}s started together. */
export interface SlowClients {
  /** When the connections were opened (ms since the epoch). */
  startedAt: number;
  /** The connections. */
  clients: SlowClient[];
  /** Resolves once the server has closed every connection. */
  allClosed: Promise<void>;
  /** Resolves once the server has closed every connection, or rejects naming how many it left open after `ms`. */
  closedWithin(ms: number): Promise<void>;
  /** Destroys the connections still open (the test's cleanup; the server did not cut them off). */
  stop(): void;
}

/** Options of {@link openSlowClients}. */
export interface SlowClientOptions {
  /** Host of the server; default 127.0.0.1. */
  host?: string;
  /** How often each connection sends one more header line; default 500 ms (the server never idles long). */
  lineIntervalMs?: number;
}

/**
 * Opens `count` slowloris connections to `port`: each starts a request and keeps sending one header line every
 * `lineIntervalMs` without ever ending the headers, so only a headers timeout can free the server from them.
 */
export function openSlowClients(port: number, count: number, options: SlowClientOptions = {}): SlowClients {
  const lineIntervalMs = options.lineIntervalMs ?? 500;
  const sockets: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const closings: Promise<void>[] = [];
  const clients = Array.from({ length: count }, (_, index) => {
    const client: SlowClient = { received: '' };
    const socket = connect(port, options.host ?? '127.0.0.1');
    sockets.push(socket);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      client.received += chunk;
    });
    // The server ending the connection may reset it: that is the outcome under test, not a failure.
    socket.on('error', () => undefined);
    closings.push(
      new Promise((resolve) =>
        socket.once('close', () => {
          client.closedAt = Date.now();
          resolve();
        }),
      ),
    );
    socket.write(`GET /slow-${index} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    let line = 0;
    const timer = setInterval(() => {
      line += 1;
      if (!socket.destroyed) socket.write(`X-Slow-${line}: still sending\r\n`);
    }, lineIntervalMs);
    timers.push(timer);
    socket.once('close', () => clearInterval(timer));
    return client;
  });
  const allClosed = Promise.all(closings).then(() => undefined);
  return {
    startedAt: Date.now(),
    clients,
    allClosed,
    closedWithin(ms) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const open = clients.filter((client) => client.closedAt === undefined).length;
          reject(new Error(`${open} of ${count} slow clients still connected after ${ms} ms`));
        }, ms);
      });
      return Promise.race([allClosed, late]).finally(() => clearTimeout(timer));
    },
    stop() {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
    },
  };
}
