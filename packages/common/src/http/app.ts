import express, { type Express, type Request, type RequestHandler } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { Histogram, type Registry } from 'prom-client';
import type { ServiceConfig } from '../config';
import type { Logger } from '../logging';
import { httpSpans } from '../tracing';
import { currentUser, sessionCookie } from './auth';
import { errorHandler, notFoundHandler } from './error-handler';
import { DEFAULT_READINESS_TIMEOUT_MS, type ReadinessCheck, runReadiness } from './readiness';
import { requestId } from './request-id';

/** Options of {@link createHttpApp}. */
export interface HttpAppOptions {
  /** Service name; put on request logs when `logger` does not carry it already (metrics get it from the registry). */
  service: string;
  /** The service's logger; request logs are its children. */
  logger: Logger;
  /** The service's registry; the HTTP latency histogram is registered on it and served at `/metrics`. */
  metrics: Registry;
  /** Key that verifies the JWTs of signed-in users. */
  jwtKey: string;
  /** Longest token lifetime (`exp - iat`) accepted, in seconds; default one day (`JWT_MAX_AGE_SECONDS`). */
  jwtMaxAgeSeconds?: number;
  /** Mark the session cookie `Secure` (true everywhere but tests and plain-HTTP local runs). */
  cookieSecure: boolean;
  /** Named checks `/readyz` runs (typically `mongo` and `nats`). */
  readiness: Record<string, ReadinessCheck>;
  /** Mounts the service's routes; runs after the common middleware and before the 404 and error handlers. */
  routes: (app: Express) => void;
  /** Largest accepted JSON body, in body-parser's notation; default `'100kb'`. */
  bodyLimit?: string | number;
  /**
   * Express `trust proxy` (`TRUST_PROXY`): the proxies whose `X-Forwarded-*` headers give the client address
   * (auth's rate limits count by it) and the https scheme (needed to send a secure cookie). Default
   * `loopback`: only a proxy on this host; anyone else's `X-Forwarded-For` is the client's own claim.
   */
  trustProxy?: number | string | string[];
  /** Time each readiness check may take; default 2000 ms. */
  readinessTimeoutMs?: number;
}

/** The options of {@link createHttpApp} that a service's config decides. */
export function httpAppOptionsFrom(
  config: Pick<ServiceConfig, 'JWT_KEY' | 'JWT_MAX_AGE_SECONDS' | 'COOKIE_SECURE' | 'TRUST_PROXY'>,
): Pick<HttpAppOptions, 'jwtKey' | 'jwtMaxAgeSeconds' | 'cookieSecure' | 'trustProxy'> {
  return {
    jwtKey: config.JWT_KEY,
    jwtMaxAgeSeconds: config.JWT_MAX_AGE_SECONDS,
    cookieSecure: config.COOKIE_SECURE,
    trustProxy: config.TRUST_PROXY,
  };
}

/**
 * helmet's standard headers, tuned for a JSON API: no document is ever rendered from an answer, so the content
 * security policy allows nothing and no one may frame it (helmet's defaults suit HTML pages).
 */
export function apiSecurityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    frameguard: { action: 'deny' },
  });
}

/**
 * `Cache-Control: no-store` on every answer: they carry tokens (sign-up, sign-in), session cookies, emails and
 * other per-user state, none of which a browser or a shared cache may keep. A route may still set its own.
 */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/** Name of the request latency histogram every service exposes. */
export const HTTP_DURATION_METRIC = 'http_request_duration_seconds';

// Probes and scrapes arrive every few seconds; logging each would drown the request log.
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Builds a service's Express app (no listen): security headers and `no-store`, request id and correlation
 * context, request logging, latency metrics, JSON body, session cookie and current user, health/readiness/metrics endpoints, the service's routes,
 * then 404 and error handling, in that order.
 */
export function createHttpApp(options: HttpAppOptions): Express {
  // createLogger's loggers carry `service` already; a bare pino logger (tests, scripts) gets it here.
  const logger =
    options.logger.bindings().service === undefined
      ? options.logger.child({ service: options.service })
      : options.logger;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? 'loopback');
  app.use(apiSecurityHeaders(), noStore);

  app.use(httpSpans((req) => trackRoutePattern(req).pattern));
  app.use(requestId());
  app.use(
    pinoHttp({
      logger,
      genReqId: (req) => req.id,
      quietReqLogger: true,
      customAttributeKeys: { reqId: 'requestId' },
      autoLogging: { ignore: (req) => QUIET_PATHS.has((req.url ?? '').split('?')[0] ?? '') },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      serializers: { req: withoutSecrets },
    }),
  );
  app.use(latencyMetrics(httpDurationHistogram(options.metrics)));
  app.use(express.json({ limit: options.bodyLimit ?? '100kb' }));
  app.use(sessionCookie({ secure: options.cookieSecure }));
  app.use(currentUser(options.jwtKey, { maxAgeSeconds: options.jwtMaxAgeSeconds }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await runReadiness(
      options.readiness,
      options.readinessTimeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS,
    );
    res
      .status(report.ready ? 200 : 503)
      .json({ status: report.ready ? 'ready' : 'not ready', checks: report.checks });
  });
  app.get('/metrics', async (_req, res) => {
    const body = await options.metrics.metrics();
    res.setHeader('Content-Type', options.metrics.contentType);
    res.send(body);
  });

  options.routes(app);

  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}

/** Serialized request without the headers that carry credentials (pino-std-serializers' shape). */
function withoutSecrets(serialized: { headers?: Record<string, unknown> }): unknown {
  if (!serialized.headers) {
    return serialized;
  }
  const { cookie: _cookie, authorization: _authorization, ...headers } = serialized.headers;
  return { ...serialized, headers };
}

/** The histogram on this registry, created once: apps built twice on one registry (tests) share it. */
function httpDurationHistogram(registry: Registry): Histogram<'method' | 'route' | 'status'> {
  const existing = registry.getSingleMetric(HTTP_DURATION_METRIC);
  if (existing instanceof Histogram) {
    return existing as Histogram<'method' | 'route' | 'status'>;
  }
  return new Histogram({
    name: HTTP_DURATION_METRIC,
    help: 'HTTP request latency by method, matched route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
}

/** Observes each response's latency labelled with the matched route pattern, never the raw URL. */
function latencyMetrics(histogram: Histogram<'method' | 'route' | 'status'>): RequestHandler {
  return (req, res, next) => {
    const stop = histogram.startTimer();
    const route = trackRoutePattern(req);
    res.once('finish', () => {
      stop({ method: req.method, route: route.pattern ?? 'unmatched', status: String(res.statusCode) });
    });
    next();
  };
}

// One tracker per request, whoever asks first (the request's span, its latency metric).
const routePatterns = new WeakMap<Request, { pattern?: string }>();

/**
 * Records the full pattern of the route that handles the request. The router sets `req.route` when a route
 * matches, while `req.baseUrl` still holds the mount path; by the time the response finishes (or an error left
 * a mounted router) baseUrl has been reset, so it has to be read at that moment.
 */
function trackRoutePattern(req: Request): { pattern?: string } {
  const tracked = routePatterns.get(req);
  if (tracked) return tracked;
  const holder: { pattern?: string } = {};
  routePatterns.set(req, holder);
  let route: unknown;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: unknown) => {
      route = value;
      const path = (value as { path?: unknown } | undefined)?.path;
      if (path !== undefined) {
        holder.pattern = `${req.baseUrl}${String(path)}`;
      }
    },
  });
  return holder;
}
