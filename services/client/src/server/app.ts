import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { ClientConfig } from './config';
import { contentSecurityPolicy, renderIndexPage } from './index-page';

/** Options of {@link createClientApp}. */
export interface ClientAppOptions {
  /** The validated configuration. */
  config: Pick<ClientConfig, 'STRIPE_PUBLISHABLE_KEY' | 'TEST_CARD_TOKENS'>;
  /** The directory Vite built (index.html, assets/). */
  publicDir: string;
}

/** Thrown at start when the pages are not built: the message says how to build them. */
export class MissingBuildError extends Error {
  override readonly name = 'MissingBuildError';
  readonly code = 'CLIENT_NOT_BUILT';
}

function sendError(res: Response, status: number, message: string): void {
  res
    .status(status)
    .type('application/json')
    .send(JSON.stringify({ errors: [{ message }] }));
}

/**
 * The shop's HTTP app: `/healthz` and `/readyz`, the hashed assets (cached for a year), and index.html for
 * every page path (the app routes in the browser), with the page's config and security headers. `/api/…`
 * belongs to the services: answered 404 here, in case a proxy sends it.
 */
export function createClientApp(options: ClientAppOptions): Express {
  const indexFile = join(options.publicDir, 'index.html');
  if (!existsSync(indexFile))
    throw new MissingBuildError(
      `${indexFile} is missing: build the shop first (npm run build -w @ticketing/client)`,
    );
  const indexPage = renderIndexPage(readFileSync(indexFile, 'utf8'), options.config);
  const csp = contentSecurityPolicy(Boolean(options.config.STRIPE_PUBLISHABLE_KEY));

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'strong');
  app.use((_req, res, next) => {
    res.set({
      'Content-Security-Policy': csp,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
      'Cross-Origin-Opener-Policy': 'same-origin',
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Ready as soon as it runs: the pages were read at start, and the shop depends on no other service to serve them.
  app.get('/readyz', (_req, res) => {
    res.json({ status: 'ready', checks: { pages: { ok: true } } });
  });
  app.use('/api', (_req, res) => sendError(res, 404, 'Route not found'));

  // Vite names every built asset after its content: a changed file is a new URL, so browsers may keep them.
  app.use(
    '/assets',
    express.static(join(options.publicDir, 'assets'), {
      immutable: true,
      maxAge: '365d',
      index: false,
      fallthrough: false,
    }),
  );
  app.use(express.static(options.publicDir, { index: false, maxAge: '1h' }));

  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    // A path with an extension is a file that is not there; a page path gets the app, which shows its own 404.
    if (/\.[A-Za-z0-9]+$/.test(req.path)) return sendError(res, 404, 'Not found');
    res.set('Cache-Control', 'no-cache').type('html').send(indexPage);
  });
  app.use((_req: Request, res: Response) => sendError(res, 405, 'The shop answers GET and HEAD only'));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: number }).status;
    sendError(res, status === 404 ? 404 : 500, status === 404 ? 'Not found' : 'Something went wrong');
  });
  return app;
}
