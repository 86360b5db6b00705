import type { Server } from 'node:http';
import { connect } from 'node:net';
import { openSlowClients } from '@ticketing/testing';
import {
  connectionsCheckingIntervalFor,
  createHttpServer,
  DEFAULT_SERVER_TIMEOUTS,
  listenHttp,
  type ServerTimeouts,
} from './server';

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server with `timeouts` on a free loopback port: `/` answers at once, `/stream` streams for `streamMs`. */
async function serve(timeouts: ServerTimeouts, streamMs = 0): Promise<number> {
  const server = createHttpServer((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const tick = setInterval(() => res.write(': tick\n\n'), 200);
      setTimeout(() => {
        clearInterval(tick);
        res.end('data: done\n\n');
      }, streamMs);
      return;
    }
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
    });
    req.on('end', () => res.end(`ok ${length}`));
  }, timeouts);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** Sends `head` then trickles `body` one byte per `everyMs`; resolves with what came back and when it closed. */
function trickle(port: number, head: string, body: string, everyMs: number) {
  const started = Date.now();
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  let received = '';
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.write(head);
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < body.length && !socket.destroyed) socket.write(body[sent++]!);
  }, everyMs);
  return new Promise<{ received: string; closedAfterMs: number }>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ received, closedAfterMs: Date.now() - started });
    }),
  );
}

describe('createHttpServer', () => {
  it('uses the contract defaults: headers 20 s, request 60 s, keep-alive 5 s, checked at most every 5 s', () => {
    const server = createHttpServer(() => undefined);
    expect(server.headersTimeout).toBe(20_000);
    expect(server.requestTimeout).toBe(60_000);
    expect(server.keepAliveTimeout).toBe(5_000);
    expect(DEFAULT_SERVER_TIMEOUTS).toEqual({
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
    });
    expect(connectionsCheckingIntervalFor(20_000)).toBeLessThanOrEqual(5_000);
    expect(connectionsCheckingIntervalFor(2_000)).toBe(500);
  });

  it('disconnects 50 slow-header clients after the headers timeout while other clients are served', async () => {
    const headersTimeoutMs = 2000;
    const port = await serve({ headersTimeoutMs, requestTimeoutMs: 4000, keepAliveTimeoutMs: 1000 });
    const slow = openSlowClients(port, 50, { lineIntervalMs: 300 });
    try {
      // A normal client keeps being answered, promptly, the whole time the slow ones hold their sockets.
      const latencies: number[] = [];
      let serving = true;
      const normal = (async () => {
        while (serving) {
          const started = Date.now();
          const response = await fetch(`http://127.0.0.1:${port}/`);
          expect(await response.text()).toBe('ok 0');
          latencies.push(Date.now() - started);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      await slow.closedWithin(8000);
      serving = false;
      await normal;

      const checkEveryMs = connectionsCheckingIntervalFor(headersTimeoutMs);
      for (const client of slow.clients) {
        const openMs = client.closedAt! - slow.startedAt;
        expect(openMs).toBeGreaterThanOrEqual(headersTimeoutMs - 100);
        // One sweep late at worst, plus a margin for a loaded machine.
        expect(openMs).toBeLessThanOrEqual(headersTimeoutMs + checkEveryMs + 1000);
        expect(client.received).toMatch(/^HTTP\/1\.1 408 /);
      }
      expect(latencies.length).toBeGreaterThanOrEqual(5);
      expect(Math.max(...latencies)).toBeLessThan(1000);
    } finally {
      slow.stop();
    }
  });

  it('disconnects a client whose body is still arriving after the request timeout', async () => {
    const port = await serve({ headersTimeoutMs: 500, requestTimeoutMs: 1500, keepAliveTimeoutMs: 1000 });
    const body = 'x'.repeat(100);
    const head = `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n`;
    const result = await trickle(port, head, body, 100);
    expect(result.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(1400);
    expect(result.closedAfterMs).toBeLessThan(1500 + 375 + 1000);
    // A body that makes it in time is read whole.
    const fast = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'y'.repeat(10) });
    expect(await fast.text()).toBe('ok 10');
  });

  it('lets an answer stream past the request timeout once the request is in (SSE, long polls)', async () => {
    const port = await serve(
      { headersTimeoutMs: 500, requestTimeoutMs: 1000, keepAliveTimeoutMs: 1000 },
      3000,
    );
    const started = Date.now();
    const response = await fetch(`http://127.0.0.1:${port}/stream`);
    const text = await response.text();
    expect(text.endsWith('data: done\n\n')).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const keepAliveTimeoutMs = 1000;
    const port = await serve({ headersTimeoutMs: 500, requestTimeoutMs: 1000, keepAliveTimeoutMs });
    const result = await trickle(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '', 1000);
    expect(result.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(result.received).toMatch(/Keep-Alive: timeout=1/i);
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(keepAliveTimeoutMs - 50);
    // Node keeps the socket up to a second beyond the announced timeout, so clients close first.
    expect(result.closedAfterMs).toBeLessThan(keepAliveTimeoutMs + 2500);
  });
});

describe('listenHttp', () => {
  const config = {
    PORT: 0,
    HOST: '127.0.0.1',
    HTTP_HEADERS_TIMEOUT_SECONDS: 3,
    HTTP_REQUEST_TIMEOUT_SECONDS: 7,
    HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: 2,
  };

  it('listens on HOST:PORT with the timeouts of the config', async () => {
    const server = await listenHttp((_req, res) => res.end('hi'), config);
    servers.push(server);
    const address = server.address() as { address: string; port: number };
    expect(address.address).toBe('127.0.0.1');
    expect(address.port).toBeGreaterThan(0);
    expect([server.headersTimeout, server.requestTimeout, server.keepAliveTimeout]).toEqual([
      3000, 7000, 2000,
    ]);
    expect(await (await fetch(`http://127.0.0.1:${address.port}/`)).text()).toBe('hi');
  });

  it('rejects when the port is taken', async () => {
    const first = await listenHttp((_req, res) => res.end(), config);
    servers.push(first);
    const port = (first.address() as { port: number }).port;
    await expect(listenHttp((_req, res) => res.end(), { ...config, PORT: port })).rejects.toThrow(
      /EADDRINUSE/,
    );
  });
});
