import pino from 'pino';
import { currentContext } from './context';
import { traceLogFields } from './tracing';

/** The project's logger type (pino). */
export type Logger = pino.Logger;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Service name, put on every line as `service`. */
  service: string;
  /** pino level; default `LOG_LEVEL` or `info` (`silent` under jest unless LOG_LEVEL says otherwise). */
  level?: string;
  /** Where the lines go (default stdout). */
  destination?: pino.DestinationStream;
}

/** A JSON logger whose lines carry the service name and the correlation id and trace id of the work in progress. */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? (process.env.JEST_WORKER_ID ? 'silent' : 'info');
  return pino(
    {
      level,
      base: { service: options.service },
      redact: {
        paths: ['password', '*.password', 'req.headers.cookie', 'req.headers.authorization'],
        remove: true,
      },
      mixin() {
        const context = currentContext();
        const trace = traceLogFields();
        return context ? { correlationId: context.correlationId, ...trace } : trace;
      },
    },
    options.destination,
  );
}
