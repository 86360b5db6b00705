import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '@ticketing/testing';
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
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url }));
  });
  // Announced to clients as `Keep-Alive: timeout=2`. When the service ends an idle connection itself it destroys
  // the socket; an 'end' on its side means the gateway closed first.
  service.keepAliveTimeout = 2000;
  service.on('connection', (socket) => socket.once('end', () => closedByGateway++));
  const serviceUrl = await listen(service);
  gateway = createGateway(['auth'], (name) => (name === 'auth' ? serviceUrl : undefined));
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

it('answers 404 for paths outside the API and 503 for a service that is not running', async () => {
  expect((await fetch(`${gatewayUrl}/elsewhere`)).status).toBe(404);
  expect((await fetch(`${gatewayUrl}/api/tickets`)).status).toBe(503);
});
