import { readFile } from 'node:fs/promises';
import { Agent, type ClientRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import {
  createHttpServer,
  DEFAULT_SERVER_TIMEOUTS,
  mergeOpenApiDocuments,
  type ServerTimeouts,
} from '@ticketing/common';
import helmet from 'helmet';
import httpProxy from 'http-proxy';

/** Routes of the gateway, like the Kubernetes ingress: path prefix → service name. */
export const gatewayRoutes: ReadonlyArray<readonly [prefix: string, service: string]> = [
  ['/api/users', 'auth'],
  ['/api/tickets', 'tickets'],
  ['/api/orders', 'orders'],
  ['/api/payments', 'payments'],
  ['/api/webhooks', 'notifications'],
];

/**
 * Where the gateway finds a service: the base URLs of its replicas in rotation (read on every request: ports are
 * known only once services start, and a replica being restarted is taken out first). Empty when none runs.
 */
export type ServiceLocator = (service: string) => readonly string[];

/** What `/api/health` reports per service. */
export interface ServiceHealth {
  /** True when the service answered /readyz with 200. */
  ready: boolean;
  /** Its /readyz body, or why it could not be reached. */
  detail: unknown;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** The services that have an HTTP API, in document order. */
const apiServices = [...new Set(gatewayRoutes.map(([, service]) => service))];

/** The whole API: every service's own `/openapi.json`, merged. */
export async function mergedDocument(locate: ServiceLocator): Promise<Record<string, unknown>> {
  const documents = await Promise.all(
    apiServices.map(async (service) => {
      const [base] = locate(service);
      if (!base) throw new Error(`${service} is not running`);
      const response = await fetch(`${base}/openapi.json`, { signal: AbortSignal.timeout(3000) });
      if (!response.ok) throw new Error(`${service} answered ${response.status} for /openapi.json`);
      return (await response.json()) as Record<string, unknown>;
    }),
  );
  return mergeOpenApiDocuments('Ticketing API', documents);
}

const swaggerUiDir = dirname(require.resolve('swagger-ui-dist/package.json'));
const docsAssets: Record<string, string> = {
  'swagger-initializer.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};
const docsPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ticketing API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css"><link rel="icon" href="/api/docs/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/swagger-initializer.js"></script>
</body></html>`;
// A script file, not an inline script, so the page's content security policy can forbid inline scripts.
const docsInitializer = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', withCredentials: true });\n`;

/** `/api/docs` (interactive docs of the merged document) and its assets, from the swagger-ui-dist package. */
async function serveDocs(path: string, res: ServerResponse): Promise<void> {
  if (path === '/api/docs' || path === '/api/docs/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(docsPage);
    return;
  }
  const asset = path.slice('/api/docs/'.length);
  const type = docsAssets[asset];
  if (!type) return sendJson(res, 404, { errors: [{ message: 'Route not found' }] });
  res.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=3600' });
  res.end(asset === 'swagger-initializer.js' ? docsInitializer : await readFile(join(swaggerUiDir, asset)));
}

/** Everything outside `/api` is the web shop's (as the ingress routes `/` to it). */
export const shopService = 'client';

function routeOf(url: string): string | undefined {
  const path = url.split('?')[0] ?? '';
  if (path !== '/api' && !path.startsWith('/api/')) return shopService;
  return gatewayRoutes.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`))?.[1];
}

async function readiness(base: string): Promise<ServiceHealth> {
  try {
    const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(3000) });
    return { ready: response.status === 200, detail: await response.json() };
  } catch (error) {
    return { ready: false, detail: (error as Error).message };
  }
}

/**
 * Readiness of every service, each replica asked at its /readyz with a short timeout: a service is ready when
 * every replica in rotation is; with several, `detail` holds each replica's answer by URL.
 */
export async function checkServices(
  services: string[],
  locate: ServiceLocator,
): Promise<Record<string, ServiceHealth>> {
  const entries = await Promise.all(
    services.map(async (service): Promise<[string, ServiceHealth]> => {
      const replicas = locate(service);
      if (replicas.length === 0) return [service, { ready: false, detail: 'not started' }];
      const answers = await Promise.all(replicas.map(readiness));
      if (answers.length === 1) return [service, answers[0]!];
      return [
        service,
        {
          ready: answers.every((answer) => answer.ready),
          detail: Object.fromEntries(replicas.map((url, i) => [url, answers[i]!.detail])),
        },
      ];
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * How long the gateway keeps an idle connection to a service: well under the services' 5 s keep-alive, so a
 * busy event loop here cannot reuse a socket the service is closing (less, if a service announces less).
 */
const idleSocketTimeoutMs = 2000;

/**
 * The gateway's own answers (docs, merged document, health, its errors) get helmet's standard headers: its
 * default content security policy (scripts, styles and images from this origin only) is what Swagger UI needs.
 * The gateway speaks plain HTTP on this machine, so neither HSTS nor an upgrade of the page's requests to https.
 * Proxied answers carry the headers their service chose.
 */
const ownAnswerHeaders = helmet({
  contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  strictTransportSecurity: false,
});

function withOwnAnswerHeaders(req: IncomingMessage, res: ServerResponse, answer: () => void): void {
  ownAnswerHeaders(req, res, (error?: unknown) => {
    if (error) return sendJson(res, 500, { errors: [{ message: 'Something went wrong' }] });
    if (!res.hasHeader('cache-control')) res.setHeader('cache-control', 'no-store');
    answer();
  });
}

/**
 * The gateway is the edge: what a client claims in `X-Forwarded-*` is dropped and replaced by what the gateway
 * saw, as ingress-nginx does. The services believe these headers from the gateway (`TRUST_PROXY`), so a
 * client that could add to them could choose its own address and its own rate-limit budget.
 */
function setForwardedHeaders(req: IncomingMessage): void {
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-forwarded-') || name === 'forwarded') delete req.headers[name];
  }
  req.headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  req.headers['x-forwarded-proto'] = 'http';
  if (req.headers.host) req.headers['x-forwarded-host'] = req.headers.host;
}

/** True for a request of an event stream (Server-Sent Events): its answer never ends. */
function isEventStream(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/event-stream');
}

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** How long the gateway waits for slow clients; default the services' (headers 20 s, body 60 s). */
  timeouts?: ServerTimeouts;
  /** How long a service may stay silent in an answer before the gateway gives up (default 30 s; not for streams). */
  proxyTimeoutMs?: number;
}

/** The largest request body the gateway holds to replay on another replica (the services accept less). */
export const maxRequestBodyBytes = 1024 * 1024;

class BodyTooLarge extends Error {}

/** The whole request body, kept so that a request refused by one replica can be sent whole to the next. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxRequestBodyBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
      } else chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
    // A client that left (or was cut off by the request timeout) mid-body: nothing to proxy.
    req.once('close', () => {
      if (!req.complete) reject(new Error('request not complete'));
    });
  });
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * True when the replica certainly did not act on the request, so the next replica may have it: the connection
 * was refused (the replica is down or restarting), or, for a safe method, a kept-alive connection was reset
 * before any answer (the replica closed it as idle just as the request went out). A reset in the middle of any
 * other request may come after the replica acted, so the client gets a 502 and decides.
 */
function replicaNeverActed(error: NodeJS.ErrnoException, req: IncomingMessage, proxyReq?: ClientRequest) {
  if (error.code === 'ECONNREFUSED') return true;
  return error.code === 'ECONNRESET' && proxyReq?.reusedSocket === true && safeMethods.has(req.method ?? '');
}

/**
 * The local stand-in for the ingress: proxies the four API prefixes to their services and every other path to
 * the web shop, streams event streams unbuffered and untimed, and answers `GET /api/health` with every
 * service's readiness (200 when all are ready, else 503). A service's requests go round-robin to its replicas;
 * one that refuses the connection is skipped for the next, so a replica that restarts loses no request.
 */
export function createGateway(
  services: string[],
  locate: ServiceLocator,
  options: GatewayOptions = {},
): Server {
  // Keep-alive to the services: without an agent every proxied answer says `Connection: close`, and clients
  // (browsers, load generators) pay a new connection per request. An idle socket must be dropped here before
  // the service closes it (its `Keep-Alive: timeout=5`), or a request sent on it as it closes fails with
  // ECONNRESET (a 502). Node's agent honours a shorter hint (less a second) only when it has a timeout of its own.
  const agent = new Agent({ keepAlive: true, maxSockets: 256, timeout: idleSocketTimeoutMs });
  const proxyTimeout = options.proxyTimeoutMs ?? 30_000;
  const proxy = httpProxy.createProxyServer({ agent });
  const lastAttempt = new WeakMap<IncomingMessage, ClientRequest>();
  const nextReplica = new Map<string, number>();
  // A browser that leaves before the answer ended (an event stream never ends) must not leave the request to the
  // service open: http-proxy aborts it only for a request still being sent.
  proxy.on('proxyReq', (proxyReq, req, res) => {
    lastAttempt.set(req, proxyReq);
    res.once('close', () => {
      if (!res.writableFinished) proxyReq.destroy();
    });
  });
  const unavailable = (req: IncomingMessage, res: ServerResponse) => {
    if (res.headersSent) return res.destroy();
    withOwnAnswerHeaders(req, res, () =>
      sendJson(res, 502, { errors: [{ message: 'Service unavailable, try again' }] }),
    );
  };
  /** Sends the request to the replicas in turn, from the next one in the round, until one takes it. */
  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    service: string,
    replicas: readonly string[],
  ) => {
    const first = (nextReplica.get(service) ?? 0) % replicas.length;
    nextReplica.set(service, first + 1);
    const attempt = (body: Buffer, tried: number) => {
      const target = replicas[(first + tried) % replicas.length]!;
      const web = {
        target,
        buffer: Readable.from(body.length ? [body] : []),
        proxyTimeout: isEventStream(req) ? 0 : proxyTimeout,
      };
      proxy.web(req, res, web, (error: NodeJS.ErrnoException) => {
        const again = tried + 1 < replicas.length && !res.headersSent;
        if (again && replicaNeverActed(error, req, lastAttempt.get(req))) attempt(body, tried + 1);
        else unavailable(req, res);
      });
    };
    readBody(req).then(
      (body) => attempt(body, 0),
      (error: unknown) => {
        if (error instanceof BodyTooLarge)
          withOwnAnswerHeaders(req, res, () =>
            sendJson(res, 413, { errors: [{ message: 'Request body too large' }] }),
          );
      },
    );
  };
  const route = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '';
    const routed = routeOf(url);
    // A gateway without the shop (tests of the API alone) has nothing outside /api.
    const service = routed === shopService && !services.includes(shopService) ? undefined : routed;
    const replicas = service ? locate(service) : [];
    if (service && replicas.length > 0) {
      setForwardedHeaders(req);
      // http-proxy pipes the answer through as it comes: an event reaches the browser when the service writes it.
      forward(req, res, service, replicas);
      return;
    }
    withOwnAnswerHeaders(req, res, () => answerItself(req, res, url, path, service));
  };
  const answerItself = (
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
    path: string,
    service: string | undefined,
  ) => {
    if (req.method === 'GET' && path === '/api/openapi.json') {
      void mergedDocument(locate).then(
        (document) => sendJson(res, 200, document),
        (error: Error) => sendJson(res, 503, { errors: [{ message: error.message }] }),
      );
      return;
    }
    if (req.method === 'GET' && (path === '/api/docs' || path.startsWith('/api/docs/'))) {
      void serveDocs(path, res);
      return;
    }
    if (url === '/api/health' || url.startsWith('/api/health?')) {
      void checkServices(services, locate).then((health) => {
        const ready = Object.values(health).every((service) => service.ready);
        sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', services: health });
      });
      return;
    }
    if (!service) return sendJson(res, 404, { errors: [{ message: 'Route not found' }] });
    sendJson(res, 503, { errors: [{ message: `${service} is not running` }] });
  };
  return createHttpServer(route, options.timeouts ?? DEFAULT_SERVER_TIMEOUTS);
}
