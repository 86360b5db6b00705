import { Writable } from 'node:stream';
import type { Express } from 'express';
import pino from 'pino';
import type { Logger } from '../../logging';
import { createMetricsRegistry } from '../../metrics';
import { createHttpApp, type HttpAppOptions } from '../app';

/** The JWT key the HTTP kit tests sign with. */
export const TEST_JWT_KEY = 'test-jwt-key';

/** A logger whose JSON lines are kept in memory, so tests can assert what was (and was not) logged. */
export function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  // No redaction here: the kit itself must keep credentials out of request logs, whatever logger it is given.
  const logger = pino({ level: 'info' }, stream);
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

/** An app from the kit with test defaults (silent logger, fresh registry, insecure cookie, no readiness checks). */
export function testApp(routes: (app: Express) => void, overrides: Partial<HttpAppOptions> = {}): Express {
  return createHttpApp({
    service: 'test',
    logger: pino({ level: 'silent' }),
    metrics: createMetricsRegistry('test'),
    jwtKey: TEST_JWT_KEY,
    cookieSecure: false,
    readiness: {},
    routes,
    ...overrides,
  });
}

/** A `Cookie` header value carrying `jwt` the way the cookie-session cookie does (base64 JSON `{jwt}`). */
export function sessionCookieFor(jwt: unknown): string {
  return `session=${Buffer.from(JSON.stringify({ jwt })).toString('base64')}`;
}
