import { readFile } from 'node:fs/promises';
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { mergeOpenApiDocuments } from '@ticketing/common';
import httpProxy from 'http-proxy';

/** Routes of the gateway, like the Kubernetes ingress: path prefix → service name. */
export const gatewayRoutes: ReadonlyArray<readonly [prefix: string, service: string]> = [
  ['/api/users', 'auth'],
  ['/api/tickets', 'tickets'],
  ['/api/orders', 'orders'],
  ['/api/payments', 'payments'],
];

/** Where the gateway finds a service (read on every request: ports are known only once services start). */
export type ServiceLocator = (service: string) => string | undefined;

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
      const base = locate(service);
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
<script>window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', withCredentials: true });</script>
</body></html>`;

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
  res.end(await readFile(join(swaggerUiDir, asset)));
}

/** Everything outside `/api` is the web shop's (as the ingress routes `/` to it). */
export const shopService = 'client';

function routeOf(url: string): string | undefined {
  const path = url.split('?')[0] ?? '';
  if (path !== '/api' && !path.startsWith('/api/')) return shopService;
  return gatewayRoutes.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`))?.[1];
}

/**
 * An EventSource request (it always asks for `text/event-stream`): a stream that stays open, quiet between
 * events and keep-alive comments, so no proxy timeout applies to it.
 */
function isEventStream(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/event-stream');
}

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** How long a service may stay silent in an answer before the gateway gives up (default 30 s; not for streams). */
  proxyTimeoutMs?: number;
}

/** Readiness of every service, each asked at its /readyz with a short timeout. */
export async function checkServices(
  services: string[],
  locate: ServiceLocator,
): Promise<Record<string, ServiceHealth>> {
  const entries = await Promise.all(
    services.map(async (service): Promise<[string, ServiceHealth]> => {
      const base = locate(service);
      if (!base) return [service, { ready: false, detail: 'not started' }];
      try {
        const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(3000) });
        return [service, { ready: response.status === 200, detail: await response.json() }];
      } catch (error) {
        return [service, { ready: false, detail: (error as Error).message }];
      }
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
 * The local stand-in for the ingress: proxies the four API prefixes to their services and every other path to
 * the web shop, streams event streams unbuffered and untimed, and answers `GET /api/health` with every
 * service's readiness (200 when all are ready, else 503).
 */
export function createGateway(
  services: string[],
  locate: ServiceLocator,
  options: GatewayOptions = {},
): Server {
  const proxyTimeout = options.proxyTimeoutMs ?? 30_000;
  // Keep-alive to the services: without an agent every proxied answer says `Connection: close`, and clients
  // (browsers, load generators) pay a new connection per request. An idle socket must be dropped here before
  // the service closes it (its `Keep-Alive: timeout=5`), or a request sent on it as it closes fails with
  // ECONNRESET (a 502). Node's agent honours a shorter hint (less a second) only when it has a timeout of its own.
  const agent = new Agent({ keepAlive: true, maxSockets: 256, timeout: idleSocketTimeoutMs });
  const proxy = httpProxy.createProxyServer({ xfwd: true, agent });
  // A browser that leaves before the answer ended (an event stream never ends) must not leave the request to the
  // service open: http-proxy aborts it only for a request still being sent.
  proxy.on('proxyReq', (proxyReq, _req, res) => {
    res.once('close', () => {
      if (!res.writableFinished) proxyReq.destroy();
    });
  });
  proxy.on('error', (_error, _req, res) => {
    if ('writeHead' in res && !res.headersSent) {
      sendJson(res as ServerResponse, 502, { errors: [{ message: 'Service unavailable, try again' }] });
    }
  });
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '';
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
    const service = routeOf(url);
    const target = service ? locate(service) : undefined;
    // A gateway without the shop (tests of the API alone) has nothing outside /api.
    if (!service || (service === shopService && !services.includes(shopService)))
      return sendJson(res, 404, { errors: [{ message: 'Route not found' }] });
    if (!target) return sendJson(res, 503, { errors: [{ message: `${service} is not running` }] });
    // http-proxy pipes the answer through as it comes: an event reaches the browser when the service writes it.
    proxy.web(req, res, { target, proxyTimeout: isEventStream(req) ? 0 : proxyTimeout });
  });
}
