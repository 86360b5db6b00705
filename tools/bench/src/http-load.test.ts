import { type HttpServerHandle, listenHttp } from '@ticketing/testing';
import { runLoad } from './http-load';

describe('runLoad', () => {
  let server: HttpServerHandle;
  let url: string;
  let requests: { method: string; body: string; cookie: string | undefined }[];

  beforeAll(async () => {
    requests = [];
    server = await listenHttp((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        requests.push({ method: req.method ?? '', body, cookie: req.headers.cookie });
        res.writeHead(req.url === '/missing' ? 404 : 201, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    url = server.url;
  });

  afterAll(async () => {
    await server.close();
  });

  it('sends the method, headers and body, and stops at maxRequests', async () => {
    requests = [];
    const figures = await runLoad({
      name: 'POST /x',
      url: `${url}/x`,
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'session=abc' },
      body: '{"a":1}',
      connections: 2,
      durationSeconds: 5,
      warmupSeconds: 0,
      maxRequests: 40,
    });
    // Stopped by count: exactly that many requests, long before the 5 s are up.
    expect(figures.ok).toBe(40);
    expect(requests[0]).toEqual({ method: 'POST', body: '{"a":1}', cookie: 'session=abc' });
    expect(figures.latency!.count).toBe(figures.ok);
    expect(figures.rate).toBeGreaterThan(0);
  });

  it('sends each request with the next of the rotating headers, on top of the fixed ones', async () => {
    requests = [];
    await runLoad({
      name: 'POST /x',
      url: `${url}/x`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      rotatingHeaders: [{ cookie: 'session=a' }, { cookie: 'session=b' }, { cookie: 'session=c' }],
      body: '{"a":1}',
      connections: 1,
      durationSeconds: 5,
      warmupSeconds: 0,
      maxRequests: 9,
    });
    expect(requests.map((r) => r.cookie)).toEqual(
      Array(3).fill(['session=a', 'session=b', 'session=c']).flat(),
    );
    expect(requests.every((r) => r.body === '{"a":1}')).toBe(true);
  });

  it('counts other statuses apart and keeps only 2xx latencies', async () => {
    const figures = await runLoad({
      name: 'GET /missing',
      url: `${url}/missing`,
      connections: 1,
      durationSeconds: 0.5,
      warmupSeconds: 0,
      maxRequests: 20,
    });
    expect(figures.ok).toBe(0);
    expect(figures.latency).toBeNull();
    expect(figures.otherStatuses['404']).toBeGreaterThan(0);
  });
});
