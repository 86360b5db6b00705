import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server on a free loopback port, for tests that need a real socket (streams, a browser). */
export interface HttpServerHandle {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The server. */
  server: Server;
  /** Closes it, open connections (event streams) included. */
  close(): Promise<void>;
}

/** Serves `handler` (an Express app, say) on 127.0.0.1 at a free port. */
export async function listenHttp(handler: RequestListener): Promise<HttpServerHandle> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
