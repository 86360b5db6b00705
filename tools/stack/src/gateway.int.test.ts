import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { eventually, openEventStream, openSlowClients } from '@ticketing/testing';
import { createGateway } from './gateway';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

function connectionsOf(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

let service: Server;
let closedByGateway = 0;
let gateway: Server;
let gatewayUrl: string;

beforeAll(async () => {
  service = createServer((req, res) => {
    // Answers once the whole request is in, as an Express service with a JSON body does.
    req.resume();
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-answered-by': 'service' });
      if (req.url === '/api/users/forwarded') {
        const { 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': proto, forwarded } = req.headers;
        res.end(JSON.stringify({ forwardedFor, proto, forwarded: forwarded ?? null }));
        return;
      }
      res.end(JSON.stringify({ path: req.url }));
    });
  });
  // Announced to clients as `Keep-Alive: timeout=2`. When the service ends an idle connection itself it destroys
  // the socket; an 'end' on its side means the gateway closed first.
  service.keepAliveTimeout = 2000;
  service.on('connection', (socket) => socket.once('end', () => closedByGateway++));
  const serviceUrl = await listen(service);
  gateway = createGateway(['auth'], (name) => (name === 'auth' ? [serviceUrl] : []));
  gatewayUrl = await listen(gateway);
});

afterAll(async () => {
  gateway.closeAllConnections();
  service.closeAllConnections();
  await Promise.all([gateway, service].map((server) => new Promise((resolve) => server.close(resolve))));
});

it('proxies an API prefix to its service and keeps the connection for the next request', async () => {
  const first = await fetch(`${gatewayUrl}/api/users/currentuser`);
  expect(first.status).toBe(200);
  expect(await first.json()).toEqual({ path: '/api/users/currentuser' });
  const second = await fetch(`${gatewayUrl}/api/users/signin`, { method: 'POST' });
  expect(await second.json()).toEqual({ path: '/api/users/signin' });
  expect(await connectionsOf(service)).toBe(1);
});

it('drops an idle connection to a service before the service would close it', async () => {
  // Wait until the connections of the test above are gone, whoever closed them.
  await eventually(async () => expect(await connectionsOf(service)).toBe(0), { timeoutMs: 10_000 });
  const closedBefore = closedByGateway;
  await (await fetch(`${gatewayUrl}/api/users/currentuser`)).json();
  expect(await connectionsOf(service)).toBe(1);
  // The service would close it at 2 s; the gateway must let go first (at 1 s), so no request can be sent on a
  // socket the service is closing (ECONNRESET, answered 502).
  await eventually(() => expect(closedByGateway).toBe(closedBefore + 1), { timeoutMs: 10_000 });
  const again = await fetch(`${gatewayUrl}/api/users/currentuser`);
  expect(again.status).toBe(200);
});

it('answers 404 for paths outside the API (no shop) and 503 for a service that is not running', async () => {
  expect((await fetch(`${gatewayUrl}/elsewhere`)).status).toBe(404); // no shop in this gateway
  expect((await fetch(`${gatewayUrl}/api/tickets`)).status).toBe(503);
});

it('replaces what a client claims in X-Forwarded-For with the address it came from', async () => {
  const res = await fetch(`${gatewayUrl}/api/users/forwarded`, {
    headers: {
      'x-forwarded-for': '203.0.113.66, 198.51.100.1',
      'x-forwarded-proto': 'https',
      forwarded: 'for=203.0.113.66',
    },
  });
  expect(await res.json()).toEqual({ forwardedFor: '127.0.0.1', proto: 'http', forwarded: null });
});

describe('headers', () => {
  it('sends helmet headers and no-store with its own answers', async () => {
    for (const path of ['/elsewhere', '/api/tickets', '/api/docs']) {
      const res = await fetch(`${gatewayUrl}${path}`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const policy = res.headers.get('content-security-policy') ?? '';
      expect(policy).toContain("default-src 'self'");
      expect(policy).toContain("script-src 'self'");
      // Plain HTTP on this machine: nothing may send the browser to https.
      expect(policy).not.toContain('upgrade-insecure-requests');
      expect(res.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('serves Swagger UI without inline scripts, which its content security policy forbids', async () => {
    const page = await (await fetch(`${gatewayUrl}/api/docs`)).text();
    const scripts = [...page.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/ src="\/api\/docs\/[\w.-]+\.js"/);
      expect(body).toBe('');
    }
    for (const [, asset] of page.matchAll(/(?:src|href)="(\/api\/docs\/[^"]+)"/g)) {
      const res = await fetch(`${gatewayUrl}${asset}`);
      expect(res.status).toBe(200);
    }
    const initializer = await (await fetch(`${gatewayUrl}/api/docs/swagger-initializer.js`)).text();
    expect(initializer).toContain("url: '/api/openapi.json'");
  });

  it('leaves the headers of proxied answers to their service', async () => {
    const res = await fetch(`${gatewayUrl}/api/users/currentuser`);
    expect(res.headers.get('x-answered-by')).toBe('service');
    expect(res.headers.get('content-security-policy')).toBeNull();
  });
});

describe('slow clients', () => {
  let slowGateway: Server;
  let slowGatewayPort: number;

  beforeAll(async () => {
    const serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
    slowGateway = createGateway(['auth'], (name) => (name === 'auth' ? [serviceUrl] : []), {
      timeouts: { headersTimeoutMs: 1500, requestTimeoutMs: 3000, keepAliveTimeoutMs: 1000 },
    });
    slowGatewayPort = Number(new URL(await listen(slowGateway)).port);
  });

  afterAll(async () => {
    slowGateway.closeAllConnections();
    await new Promise((resolve) => slowGateway.close(resolve));
  });

  it('uses the contract timeouts by default', () => {
    expect([gateway.headersTimeout, gateway.requestTimeout, gateway.keepAliveTimeout]).toEqual([
      20_000, 60_000, 5_000,
    ]);
  });

  it('disconnects 50 slow-header clients after its headers timeout while proxying for others', async () => {
    const slow = openSlowClients(slowGatewayPort, 50, { lineIntervalMs: 250 });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`http://127.0.0.1:${slowGatewayPort}/api/users/currentuser`);
        expect(await res.json()).toEqual({ path: '/api/users/currentuser' });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await slow.closedWithin(6000);
      for (const client of slow.clients) {
        expect(client.closedAt! - slow.startedAt).toBeGreaterThanOrEqual(1400);
        expect(client.received).toMatch(/^HTTP\/1\.1 408 /);
      }
    } finally {
      slow.stop();
    }
  });

  it('disconnects a client whose body is still arriving after its request timeout', async () => {
    const socket = connect(slowGatewayPort, '127.0.0.1');
    socket.setEncoding('utf8');
    let received = '';
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', () => undefined);
    const started = Date.now();
    socket.write('POST /api/users/signin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n');
    const drip = setInterval(() => socket.write('x'), 200);
    await new Promise((resolve) => socket.once('close', resolve));
    clearInterval(drip);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('the web shop and event streams', () => {
  let backend: Server;
  let shopGateway: Server;
  let url: string;
  let streamsClosedUpstream = 0;

  beforeAll(async () => {
    backend = createServer((req, res) => {
      if (req.url === '/api/tickets/updates') {
        res.once('close', () => streamsClosedUpstream++);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('retry: 1000\n\n');
        // One event now, the next after a silence longer than the gateway's proxy timeout.
        res.write('id: 1\nevent: ticket.created\ndata: {"id":"a"}\n\n');
        setTimeout(() => res.write('id: 2\nevent: ticket.updated\ndata: {"id":"a"}\n\n'), 1500);
        return;
      }
      if (req.url === '/api/tickets/slow') {
        setTimeout(() => res.end('{}'), 1500);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<p>shop page ${req.url}</p>`);
    });
    const backendUrl = await listen(backend);
    shopGateway = createGateway(['tickets', 'client'], () => [backendUrl], { proxyTimeoutMs: 500 });
    url = await listen(shopGateway);
  });

  afterAll(async () => {
    shopGateway.closeAllConnections();
    backend.closeAllConnections();
    await Promise.all(
      [shopGateway, backend].map((server) => new Promise((resolve) => server.close(resolve))),
    );
  });

  it('sends every path outside /api to the shop, and unknown /api paths nowhere', async () => {
    const page = await fetch(`${url}/orders/123?x=1`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('<p>shop page /orders/123?x=1</p>');
    expect((await fetch(`${url}/api/nothing`)).status).toBe(404);
  });

  it('passes each event on as it is written, and keeps a quiet stream past the proxy timeout', async () => {
    const stream = await openEventStream(`${url}/api/tickets/updates`);
    await stream.waitFor((r) => r.events.length === 1, 1000);
    expect(stream.ended).toBe(false);
    await stream.waitFor((r) => r.events.length === 2, 5000);
    expect(stream.events.map((e) => [e.id, e.event])).toEqual([
      ['1', 'ticket.created'],
      ['2', 'ticket.updated'],
    ]);
    stream.close();
  });

  it('closes the stream to the service when the browser goes away', async () => {
    const before = streamsClosedUpstream;
    const stream = await openEventStream(`${url}/api/tickets/updates`);
    await stream.waitFor((r) => r.events.length === 1, 1000);
    stream.close();
    await eventually(() => expect(streamsClosedUpstream).toBe(before + 1), { timeoutMs: 5000 });
  });

  it('still gives up on an ordinary answer that takes longer than the proxy timeout', async () => {
    const slow = await fetch(`${url}/api/tickets/slow`);
    expect(slow.status).toBe(502);
  });
});

describe('replicas', () => {
  const answeredBy: string[] = [];
  const replicas: Server[] = [];
  let balanced: Server;
  let balancedUrl: string;
  let refusedUrl: string;
  const urls: string[] = [];

  beforeAll(async () => {
    for (const name of ['one', 'two']) {
      const replica = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => {
          body += chunk;
        });
        req.once('end', () => {
          answeredBy.push(name);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ name, body }));
        });
      });
      replicas.push(replica);
      urls.push(await listen(replica));
    }
    // A port nothing listens on any more: connecting to it is refused, like a replica that is restarting.
    const gone = createServer();
    refusedUrl = await listen(gone);
    await new Promise((resolve) => gone.close(resolve));
    balanced = createGateway(['orders'], (name) => (name === 'orders' ? [refusedUrl, ...urls] : []));
    balancedUrl = await listen(balanced);
  });

  afterAll(async () => {
    balanced.closeAllConnections();
    for (const replica of replicas) replica.closeAllConnections();
    await Promise.all(
      [balanced, ...replicas].map((server) => new Promise((resolve) => server.close(resolve))),
    );
  });

  it('shares requests among the replicas and sends whole bodies past one that refuses connections', async () => {
    answeredBy.length = 0;
    for (let i = 0; i < 9; i++) {
      const response = await fetch(`${balancedUrl}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ticketId: `t${i}` }),
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { body: string }).body).toBe(JSON.stringify({ ticketId: `t${i}` }));
    }
    // Round-robin over three: the refused one's turns go to the next in the list, so `one` answers twice as often.
    expect(answeredBy.filter((name) => name === 'one')).toHaveLength(6);
    expect(answeredBy.filter((name) => name === 'two')).toHaveLength(3);
  });

  it('answers 502 when no replica takes the connection', async () => {
    const nowhere = createGateway(['orders'], () => [refusedUrl, refusedUrl]);
    const url = await listen(nowhere);
    try {
      const response = await fetch(`${url}/api/orders`);
      expect(response.status).toBe(502);
    } finally {
      await new Promise((resolve) => nowhere.close(resolve));
    }
  });

  it('refuses a body larger than it can hold for a replay with 413', async () => {
    const response = await fetch(`${balancedUrl}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(response.status).toBe(413);
  });
});
