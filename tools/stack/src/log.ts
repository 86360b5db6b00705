import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

const COLORS = [36, 35, 33, 32, 34, 91, 96, 95];
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const HIDDEN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'spanId']);
const useColor = process.stdout.isTTY === true && !process.env.NO_COLOR;
let nextColor = 0;
const width = 10;

/** Writes lines of the merged log, each with a fixed-width, coloured `name |` prefix. */
export class PrefixedLog {
  private readonly prefix: string;

  constructor(
    name: string,
    /** Where lines go (default stdout; tests pass a file). */
    readonly out: Writable = process.stdout,
  ) {
    const color = COLORS[nextColor++ % COLORS.length];
    const label = name.padEnd(width);
    this.prefix = useColor && out === process.stdout ? `\u001b[${color}m${label}|\u001b[0m ` : `${label}| `;
  }

  /** One line of the stack's own. */
  line(text: string): void {
    this.out.write(`${this.prefix}${text}\n`);
  }

  /** Follows a child's output: pino JSON lines are shown as `time LEVEL message key=value…`, others as they are. */
  follow(stream: Readable): void {
    createInterface({ input: stream }).on('line', (line) => this.line(formatLine(line)));
  }
}

/** A readable rendering of one pino JSON line (or the line itself when it is not JSON). */
export function formatLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = LEVELS[entry.level as number] ?? String(entry.level ?? '');
  const req = entry.req as { method?: string; url?: string } | undefined;
  const res = entry.res as { statusCode?: number } | undefined;
  if (req && res) {
    // Request logs: one short line, the request id to find the service's full JSON line, the trace id its trace.
    const took = typeof entry.responseTime === 'number' ? ` ${entry.responseTime}ms` : '';
    const err = entry.err as { message?: string } | undefined;
    const why = res.statusCode && res.statusCode >= 500 && err?.message ? ` (${err.message})` : '';
    return `${time} ${level.padEnd(5)} ${req.method} ${req.url} → ${res.statusCode}${took}${why} requestId=${String(entry.requestId ?? '')}${entry.traceId ? ` traceId=${String(entry.traceId)}` : ''}`;
  }
  const err = entry.err as { message?: string } | undefined;
  if (err && typeof err === 'object') entry.err = err.message;
  const extras = Object.entries(entry)
    .filter(([key]) => !HIDDEN_KEYS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join(' ');
  return `${time} ${level.padEnd(5)} ${String(entry.msg ?? '')}${extras ? ` ${extras}` : ''}`;
}
