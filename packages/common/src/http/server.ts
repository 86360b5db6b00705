import { createServer, type RequestListener, type Server } from 'node:http';
import type { ServiceConfig } from '../config';

/** How long a server waits for a client, in ms (Node's defaults leave a slow client connected for minutes). */
export interface ServerTimeouts {
  /** Complete request headers must arrive within this, or the client gets 408 and is disconnected. */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this; the answer may take longer (SSE, long polls). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
}

/** Slow clients: headers within 20 s, bodies within 60 s; Node's 5 s keep-alive, which the gateway relies on. */
export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
};

// Node enforces the headers and request timeouts only when it sweeps its connections, every
// connectionsCheckingInterval (30 s by default, which would let a slow client stay 20 + 30 s). A sweep at a
// quarter of the headers timeout, at most every second, cuts a slow client off within 25 % of the limit.
const MAX_CHECKING_INTERVAL_MS = 1000;

/** The interval at which Node checks {@link ServerTimeouts} for the given headers timeout, in ms. */
export function connectionsCheckingIntervalFor(headersTimeoutMs: number): number {
  return Math.max(1, Math.min(MAX_CHECKING_INTERVAL_MS, Math.floor(headersTimeoutMs / 4)));
}

/** An HTTP server that disconnects slow clients; every server of the system (services, gateway) is one of these. */
export function createHttpServer(
  listener: RequestListener,
  timeouts: ServerTimeouts = DEFAULT_SERVER_TIMEOUTS,
): Server {
  return createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingIntervalFor(timeouts.headersTimeoutMs),
    },
    listener,
  );
}

/** The server timeouts a service's config asks for. */
export function serverTimeoutsFrom(
  config: Pick<
    ServiceConfig,
    'HTTP_HEADERS_TIMEOUT_SECONDS' | 'HTTP_REQUEST_TIMEOUT_SECONDS' | 'HTTP_KEEP_ALIVE_TIMEOUT_SECONDS'
  >,
): ServerTimeouts {
  return {
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
  };
}

/** Where and how a service listens: `PORT`, `HOST` and the HTTP timeouts of its config. */
export type ListenConfig = Pick<
  ServiceConfig,
  | 'PORT'
  | 'HOST'
  | 'HTTP_HEADERS_TIMEOUT_SECONDS'
  | 'HTTP_REQUEST_TIMEOUT_SECONDS'
  | 'HTTP_KEEP_ALIVE_TIMEOUT_SECONDS'
>;

/** Serves `listener` (an Express app) on `HOST:PORT` with the config's timeouts; resolves once listening. */
export function listenHttp(listener: RequestListener, config: ListenConfig): Promise<Server> {
  const server = createHttpServer(listener, serverTimeoutsFrom(config));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
