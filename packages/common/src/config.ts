import { isIP } from 'node:net';
import { z } from 'zod';

/** One bad or missing environment variable. */
export interface ConfigIssue {
  /** The variable's name (e.g. `JWT_KEY`); `(config)` for a problem not tied to one variable. */
  variable: string;
  /** Why it was rejected. */
  message: string;
}

/** The environment does not satisfy the service's config schema; `issues` names every offending variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Stable machine-readable code. */
  readonly code = 'CONFIG_INVALID';
  /** Every bad or missing variable, in schema order. */
  readonly issues: ConfigIssue[];

  /** The message lists each issue on its own line, so a crash log alone says what to fix. */
  constructor(issues: ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}

/** The environment variables as `process.env` holds them. */
export type Env = Record<string, string | undefined>;

/**
 * Parses the environment with `schema`. An empty variable counts as unset (so `FOO=` in a manifest falls back
 * to the default or is reported missing). Throws {@link ConfigError} listing every problem at once.
 */
export function parseConfig<S extends z.ZodType>(schema: S, env: Env = process.env): z.output<S> {
  const input: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') {
      input[name] = value;
    }
  }
  const result = schema.safeParse(input);
  if (result.success) {
    return result.data;
  }
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const variable = issue.path.length > 0 ? issue.path.map((p) => String(p)).join('.') : '(config)';
      const missing =
        issue.code === 'invalid_type' && issue.path.length === 1 && input[variable] === undefined;
      return { variable, message: missing ? 'is required' : issue.message };
    }),
  );
}

/**
 * {@link parseConfig} for a service's start-up: on a bad environment it writes the list of problems to stderr
 * and exits with status 1, because nothing useful can run on a half-valid config.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Env = process.env): z.output<S> {
  try {
    return parseConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

// Whole-number checks use refine, not .int(): zod's .int() aborts the parse, which would hide the cross-variable
// checks of serviceConfigSchema and break "report every problem at once".

/** A TCP port, 0–65535 (0: any free port, for tests and the local stack), default 3000. */
export const envPort = z.coerce
  .number({ error: 'must be a port number' })
  .refine(Number.isInteger, 'must be a whole number')
  .min(0, 'must be between 0 and 65535')
  .max(65535, 'must be between 0 and 65535')
  .default(3000);

/** An absolute URL (any scheme). */
export const envUrl = z.url({ error: 'must be an absolute URL' });

/** A boolean spelled `true`/`false`/`1`/`0` (case-insensitive); anything else is an error, not false. */
export const envBoolean = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0'], { error: 'must be true, false, 1 or 0' }))
  .transform((value) => value === 'true' || value === '1');

/** A duration in whole seconds, > 0. */
export const envDurationSeconds = z.coerce
  .number({ error: 'must be a number of seconds' })
  .refine(Number.isInteger, 'must be a whole number of seconds')
  .positive('must be greater than 0');

/** A Mongo connection string (`mongodb://` or `mongodb+srv://`). */
export const envMongoUrl = z
  .string()
  .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// URL');

/** One or more comma-separated `nats://` (or `tls://`) server URLs, as the NATS client's `servers` accepts. */
export const envNatsServers = z.string().refine(
  (value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .every((part) => /^(nats|tls):\/\/[^\s,]+$/.test(part)),
  'must be nats:// URLs, comma-separated',
);

/** A pino log level. */
export const envLogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  error: 'must be one of fatal, error, warn, info, debug, trace, silent',
});

/** Address to listen on: an IP literal or `localhost`; default all IPv4 interfaces, as a container needs. */
export const envHost = z
  .string()
  .trim()
  .refine((value) => value === 'localhost' || isIP(value) !== 0, 'must be an IP address or localhost')
  .default('0.0.0.0');

/** Express's `trust proxy` names for address ranges (proxy-addr). */
const TRUSTED_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isTrustedProxyEntry(entry: string): boolean {
  if (TRUSTED_RANGE_NAMES.has(entry) || isIP(entry) !== 0) return true;
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || prefix === undefined || extra !== undefined || !/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Who may set `X-Forwarded-For`/`-Proto` (Express `trust proxy`): a hop count (`1`: the one proxy in front;
 * `0`: none), or a comma-separated list of `loopback`, `linklocal`, `uniquelocal`, IP addresses and CIDRs.
 * `true` (trust every hop) is refused: it lets any client choose its own address, and so its rate-limit budget.
 * Default `loopback`: only a proxy on the same host (the local stack's gateway) is believed.
 */
export const envTrustProxy = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    if (value.toLowerCase() === 'true') {
      ctx.addIssue({
        code: 'custom',
        message:
          "must not be true (it trusts any client's X-Forwarded-For): give a hop count, addresses or CIDRs",
      });
    } else if (
      !/^\d+$/.test(value) &&
      !value.split(',').every((entry) => isTrustedProxyEntry(entry.trim()))
    ) {
      ctx.addIssue({
        code: 'custom',
        message:
          'must be a hop count, or loopback, linklocal, uniquelocal, IP addresses and CIDRs, comma-separated',
      });
    }
  })
  .transform((value): number | string[] =>
    /^\d+$/.test(value) ? Number(value) : value.split(',').map((entry) => entry.trim()),
  )
  .default(['loopback']);

/**
 * The variables every service reads. Extend it with the service's own: `serviceConfigSchema.extend({...})`.
 * `NATS_USER` and `NATS_PASSWORD` go together: one without the other is a mistake, not anonymous access.
 */
export const serviceConfigSchema = z
  .object({
    PORT: envPort,
    // The local stack binds 127.0.0.1, so only its gateway reaches a service (tools/stack).
    HOST: envHost,
    TRUST_PROXY: envTrustProxy,
    MONGO_URL: envMongoUrl,
    NATS_URL: envNatsServers,
    NATS_USER: z.string().optional(),
    NATS_PASSWORD: z.string().optional(),
    // Short keys only fail here, not in production: the test suites share one 12-character key.
    JWT_KEY: z.string().min(8, 'must be at least 8 characters'),
    // Tokens must carry `exp`, and `exp - iat` may not exceed this, whoever signed them.
    JWT_MAX_AGE_SECONDS: envDurationSeconds.default(86_400),
    COOKIE_SECURE: envBoolean.default(true),
    LOG_LEVEL: envLogLevel.default('info'),
    // Tests, the e2e stack and the fuzzer turn it on: every answer is checked against the OpenAPI document.
    API_VALIDATE_RESPONSES: envBoolean.default(false),
    // Read-your-writes: how long a command naming another service's aggregate waits for this replica to learn it.
    REPLICA_WAIT_MS: z.coerce
      .number({ error: 'must be a number of milliseconds' })
      .refine(Number.isInteger, 'must be a whole number of milliseconds')
      .min(0, 'must be 0 or more')
      .max(60_000, 'must be at most 60000')
      .default(3000),
    // 1 on a single nats-server; 3 on a JetStream cluster (infra/k8s/overlays/prod, STACK_NATS_NODES=3 npm start).
    NATS_STREAM_REPLICAS: z.coerce
      .number({ error: 'must be 1, 3 or 5' })
      .refine((n) => [1, 3, 5].includes(n), 'must be 1, 3 or 5')
      .default(1),
    // Slow clients: headers within 20 s, the whole request within 60 s.
    HTTP_HEADERS_TIMEOUT_SECONDS: envDurationSeconds.default(20),
    HTTP_REQUEST_TIMEOUT_SECONDS: envDurationSeconds.default(60),
    // How long an idle keep-alive connection stays open; k8s sets it above ingress-nginx's 60 s upstream idle.
    HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: envDurationSeconds.default(5),
    // Where spans go (OTLP over HTTP, `<endpoint>/v1/traces`); unset: no tracing at all.
    OTEL_EXPORTER_OTLP_ENDPOINT: envUrl.optional(),
  })
  // `when` makes these run even when other variables are bad, so one report lists every problem.
  .refine((env) => !(env?.NATS_USER !== undefined && env?.NATS_PASSWORD === undefined), {
    message: 'is required when NATS_USER is set',
    path: ['NATS_PASSWORD'],
    when: () => true,
  })
  .refine((env) => !(env?.NATS_PASSWORD !== undefined && env?.NATS_USER === undefined), {
    message: 'is required when NATS_PASSWORD is set',
    path: ['NATS_USER'],
    when: () => true,
  })
  // Node refuses a server whose headers timeout exceeds its request timeout; say so by name, not by a crash.
  .refine(
    (env) =>
      !(
        typeof env?.HTTP_HEADERS_TIMEOUT_SECONDS === 'number' &&
        typeof env?.HTTP_REQUEST_TIMEOUT_SECONDS === 'number' &&
        env.HTTP_HEADERS_TIMEOUT_SECONDS > env.HTTP_REQUEST_TIMEOUT_SECONDS
      ),
    {
      message: 'must not exceed HTTP_REQUEST_TIMEOUT_SECONDS',
      path: ['HTTP_HEADERS_TIMEOUT_SECONDS'],
      when: () => true,
    },
  );

/** The parsed common service config. */
export type ServiceConfig = z.output<typeof serviceConfigSchema>;
