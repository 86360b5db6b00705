import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HttpServerHandle, listenHttp } from '@ticketing/testing';
import { StackStateError } from './errors';
import { httpTarget } from './run';
import {
  findRunningStack,
  gatewayHealthy,
  keepsConnectionsAlive,
  parseStackState,
  repoRoot,
  stackDataDir,
} from './target';

const state = (gatewayUrl: string) => ({
  gateway: { url: gatewayUrl, port: 1 },
  nats: { url: 'nats://127.0.0.1:4222', provided: 'embedded' },
  mongo: {
    url: 'mongodb://127.0.0.1:27017/',
    provided: 'MONGO_URL',
    databases: {
      auth: 'x-auth',
      tickets: 'x-tickets',
      orders: 'x-orders',
      payments: 'x-payments',
      expiration: 'x-expiration',
    },
  },
  services: { tickets: { pid: 2, port: 3, url: 'http://127.0.0.1:3', restarts: 0 } },
  pid: 1,
  processes: [
    { role: 'nats', pid: 5, port: 4222, url: 'nats://127.0.0.1:4222' },
    { role: 'postgres', pid: 6, port: 5432 },
    { role: 'tickets', pid: 2, port: 3, url: 'http://127.0.0.1:3' },
    { role: 'gateway', pid: 1, port: 1, url: gatewayUrl },
  ],
});

describe('stack.json', () => {
  it('reads what the bench needs', () => {
    expect(parseStackState(JSON.stringify(state('http://127.0.0.1:8080')))).toEqual({
      gatewayUrl: 'http://127.0.0.1:8080',
      natsUrl: 'nats://127.0.0.1:4222',
      mongoUrl: 'mongodb://127.0.0.1:27017/',
      mongoProvided: 'MONGO_URL',
      databases: {
        auth: 'x-auth',
        tickets: 'x-tickets',
        orders: 'x-orders',
        payments: 'x-payments',
        expiration: 'x-expiration',
      },
      serviceUrls: { tickets: 'http://127.0.0.1:3' },
      processes: [
        { role: 'nats', pid: 5, port: 4222, url: 'nats://127.0.0.1:4222' },
        { role: 'postgres', pid: 6, port: 5432 },
        { role: 'tickets', pid: 2, port: 3, url: 'http://127.0.0.1:3' },
        { role: 'gateway', pid: 1, port: 1, url: 'http://127.0.0.1:8080' },
      ],
    });
  });

  it('reads the stack.json of an older stack, without processes, as none', () => {
    const { processes: _, ...older } = state('http://127.0.0.1:8080');
    expect(parseStackState(JSON.stringify(older)).processes).toEqual([]);
  });

  it('says what is wrong with a bad one', () => {
    expect(() => parseStackState('{', 'f.json')).toThrow(StackStateError);
    expect(() => parseStackState('{}', 'f.json')).toThrow('f.json: mongo.databases is missing');
    const noNats = state('http://x');
    noNats.nats.url = '';
    expect(() => parseStackState(JSON.stringify(noNats))).toThrow('nats.url is missing');
    const noOrders = state('http://x') as { mongo: { databases: Record<string, string> } };
    delete noOrders.mongo.databases.orders;
    expect(() => parseStackState(JSON.stringify(noOrders))).toThrow('mongo.databases.orders is missing');
    const noPid = state('http://x') as { processes: unknown[] };
    noPid.processes[1] = { role: 'postgres', port: 5432 };
    expect(() => parseStackState(JSON.stringify(noPid))).toThrow(
      'processes[1] needs a role, a pid and a port',
    );
    expect(() => parseStackState(JSON.stringify({ ...state('http://x'), processes: {} }))).toThrow(
      'processes is not a list',
    );
  });

  it('is in TICKETING_DATA_DIR or <repo>/.data', () => {
    expect(stackDataDir({ TICKETING_DATA_DIR: '/tmp/x' })).toBe('/tmp/x');
    expect(stackDataDir({})).toBe(join(repoRoot, '.data'));
  });
});

describe('finding a running stack', () => {
  let server: HttpServerHandle;
  let url: string;
  let healthStatus = 200;
  let dir: string;

  beforeAll(async () => {
    server = await listenHttp((req, res) => {
      res.writeHead(req.url === '/api/health' ? healthStatus : 404, { 'content-type': 'application/json' });
      res.end('{}');
    });
    url = server.url;
    dir = mkdtempSync(join(tmpdir(), 'bench-target-'));
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has none without stack.json', async () => {
    expect(await findRunningStack(dir)).toEqual({ reason: `no ${join(dir, 'stack.json')}` });
  });

  it('uses the stack whose gateway answers /api/health with 200, and leaves it running', async () => {
    healthStatus = 200;
    writeFileSync(join(dir, 'stack.json'), JSON.stringify(state(url)));
    const found = await findRunningStack(dir);
    expect(found.target).toMatchObject({
      mode: 'running',
      gatewayUrl: url,
      databases: { orders: 'x-orders' },
    });
    await found.target!.stop();
    expect(await gatewayHealthy(url)).toBe(true);
  });

  it('has none when the gateway is not healthy or not there', async () => {
    healthStatus = 503;
    writeFileSync(join(dir, 'stack.json'), JSON.stringify(state(url)));
    expect((await findRunningStack(dir)).reason).toMatch(/does not answer 200/);
    writeFileSync(join(dir, 'stack.json'), JSON.stringify(state('http://127.0.0.1:1')));
    expect((await findRunningStack(dir)).reason).toMatch(/does not answer 200/);
    writeFileSync(join(dir, 'stack.json'), 'not json');
    expect((await findRunningStack(dir)).reason).toMatch(/not JSON/);
  });
});

describe('choosing where the HTTP tests go', () => {
  let server: HttpServerHandle;
  let url: string;
  let close = false;

  beforeAll(async () => {
    server = await listenHttp((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', ...(close ? { connection: 'close' } : {}) });
      res.end('[]');
    });
    url = server.url;
  });

  afterAll(async () => {
    await server.close();
  });

  const target = (serviceUrls: Record<string, string>) => ({
    ...parseStackState(JSON.stringify(state(url))),
    serviceUrls,
    mode: 'running' as const,
    description: 'test',
    stop: async () => undefined,
  });

  it('uses the gateway when it keeps connections alive', async () => {
    close = false;
    expect(await keepsConnectionsAlive(`${url}/api/tickets`)).toBe(true);
    expect(await httpTarget(target({ tickets: 'http://127.0.0.1:3' }))).toEqual({ url, via: 'gateway' });
  });

  it('goes straight to the tickets service when the gateway answers Connection: close', async () => {
    close = true;
    expect(await keepsConnectionsAlive(`${url}/api/tickets`)).toBe(false);
    expect(await httpTarget(target({ tickets: 'http://127.0.0.1:3' }))).toMatchObject({
      url: 'http://127.0.0.1:3',
      via: 'tickets service',
      note: expect.stringContaining('Connection: close'),
    });
    expect(await httpTarget(target({}))).toMatchObject({
      url,
      via: 'gateway',
      note: expect.stringContaining('unreliable'),
    });
  });
});
