import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import mongoose, { type Connection, type Model, type Schema } from 'mongoose';
import { Counter, type Registry } from 'prom-client';
import type { z } from 'zod';
import { type Bus, connectBus, serviceInboxPrefix } from '../bus/bus';
import { Listener, type ListenerOptions, type Subscription } from '../bus/listener';
import { type Env, loadConfig, parseConfig, type ServiceConfig } from '../config';
import type { Subject } from '../events/catalog';
import { ApiRouter } from '../http/api';
import { createHttpApp, httpAppOptionsFrom } from '../http/app';
import { RateLimitSweeper, SlidingWindowLimit } from '../http/rate-limit';
import { mongoReadiness, natsReadiness } from '../http/readiness';
import { listenHttp } from '../http/server';
import { createLogger, type Logger } from '../logging';
import { createMetricsRegistry } from '../metrics';
import { OutboxRelay, type OutboxRelayOptions } from '../outbox/relay';
import { AggregateStore, type StoreOptions } from '../store/aggregate-store';
import { ChangeNotices } from '../store/notices';
import { startTracing } from '../tracing';

/** Something with a life cycle that runs beside HTTP, e.g. the expiration scheduler. */
export interface Worker {
  /** Starts the work. */
  start(): void | Promise<void>;
  /** Stops taking new work and waits for what is in progress. */
  stop(): Promise<void>;
  /**
   * Ends the requests it holds open (event streams), called first on stop: the HTTP server cannot close while
   * one is open.
   */
  interruptRequests?(): void;
}

/** Any entry of a subscription table (each typed by its own subject). */
export type AnySubscription = { [S in Subject]: Subscription<S> }[Subject];

/** What a service is made of, as its `build` returns it. */
export interface ServiceParts {
  /**
   * Declares the service's HTTP operations on `api` (validated, documented in its OpenAPI document). `app` is
   * for the few endpoints a JSON document cannot describe, such as event streams; they come first.
   */
  routes?(api: ApiRouter, app: Express): void;
  /** The subscription table: one `on(subject, handler)` per event the service reacts to. */
  listeners?: AnySubscription[];
  /** Background work started after the listeners and the relay. */
  workers?: Worker[];
  /** The service's stores, for tests that look inside. */
  stores?: Record<string, AggregateStore<object>>;
}

/** Everything a service is built from. */
export interface ServiceContext<C extends ServiceConfig = ServiceConfig> {
  /** Service name: logs, metrics, durable consumer names, dead-letter subjects. */
  name: string;
  /** Validated configuration. */
  config: C;
  /** The service's logger. */
  logger: Logger;
  /** The service's metrics registry. */
  metrics: Registry;
  /** The service's own Mongo database. */
  connection: Connection;
  /** The NATS/JetStream bus. */
  bus: Bus;
  /** A store of versioned aggregates; its events are published by the service's relay, nothing to list. */
  store<S extends object>(name: string, options?: StoreOptions): AggregateStore<S>;
  /** A plain mongoose model (not an aggregate: users, locks); its indexes exist before traffic. */
  model<T>(name: string, schema: Schema<T>): Model<T>;
  /**
   * At most `limit` attempts per client key in any `windowMs`, counted in the service's database so that its
   * replicas share one budget; the keys are stored as keyed hashes, never as given (an email, an address).
   */
  rateLimit(options: { name: string; limit: number; windowMs: number }): SlidingWindowLimit;
}

/** Timings tests shorten: retry delays of listeners, relay and store repair intervals. */
export interface ServiceTuning {
  listeners?: Partial<Omit<ListenerOptions, 'service' | 'logger' | 'metrics'>>;
  relay?: Partial<Pick<OutboxRelayOptions, 'heartbeatMs' | 'staleAfterMs' | 'epochMs' | 'initialBackoffMs'>>;
  /** How old a change must be before another writer writes its head for a writer that did not, in ms. */
  repairAfterMs?: number;
}

/** A service: its name, its config schema, and how it is built; `runService` wires every service alike. */
export interface ServiceDefinition<C extends ServiceConfig, P extends ServiceParts = ServiceParts> {
  name: string;
  configSchema: z.ZodType<C>;
  build(context: ServiceContext<C>): P | Promise<P>;
  tuning?: ServiceTuning;
}

/** A started service. */
export interface RunningService<
  C extends ServiceConfig = ServiceConfig,
  P extends ServiceParts = ServiceParts,
> {
  /** The wiring, for tests that look inside. */
  context: ServiceContext<C>;
  /** What `build` returned. */
  parts: P;
  /** The relay of the service's stores (tests wait for it to drain). */
  relay: OutboxRelay;
  /** The Express app (served by `server` when `listen` was true). */
  app: Express;
  /** The HTTP server, when listening. */
  server?: Server;
  /** The port listened on, when listening. */
  port?: number;
  /** Stops in reverse order: HTTP, workers, listeners, relay, NATS (drained), Mongo. */
  stop(): Promise<void>;
}

/** Options of {@link startService}. */
export interface StartServiceOptions {
  /** Environment to read the config from (default `process.env`). */
  env?: Env;
  /** Listen on `PORT` (default true); tests pass false and use supertest on `app`. */
  listen?: boolean;
  /** Exit the process naming the bad variables (default: throw a ConfigError instead). */
  exitOnBadConfig?: boolean;
}

/** Counts every command the service sends to Mongo, by name: the bench's round trips per purchase. */
function countMongoCommands(connection: Connection, metrics: Registry): void {
  const commands = new Counter({
    name: 'mongo_commands_total',
    help: 'Commands sent to Mongo, by command name',
    labelNames: ['command'],
    registers: [metrics],
  });
  connection.getClient().on('commandStarted', (event) => commands.inc({ command: event.commandName }));
}

/**
 * Wires a service: config → tracing → Mongo → NATS and streams → `build` (stores, models, routes, listeners, workers)
 * → indexes → listeners → relay → workers → HTTP. Each step waits for the previous, so the service only takes
 * requests once it can keep its promises.
 */
export async function startService<C extends ServiceConfig, P extends ServiceParts>(
  definition: ServiceDefinition<C, P>,
  options: StartServiceOptions = {},
): Promise<RunningService<C, P>> {
  const env = options.env ?? process.env;
  const config = options.exitOnBadConfig
    ? loadConfig(definition.configSchema, env)
    : parseConfig(definition.configSchema, env);
  const { name, tuning = {} } = definition;
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry(name);
  const tracing = startTracing({ service: name, endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });

  const connection = await mongoose
    .createConnection(config.MONGO_URL, { serverSelectionTimeoutMS: 10_000, monitorCommands: true })
    .asPromise();
  countMongoCommands(connection, metrics);
  const bus = await connectBus({
    servers: config.NATS_URL,
    name,
    logger,
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
    inboxPrefix: serviceInboxPrefix(name),
  });
  await bus.ensureStreams({ replicas: config.NATS_STREAM_REPLICAS });

  const relay = new OutboxRelay({ publisher: bus, db: connection.db!, logger, metrics, ...tuning.relay });
  const notices = new ChangeNotices();
  const stores: Array<AggregateStore<object>> = [];
  // Rate-limit keys are hashed with a secret of the service's, derived from its JWT key.
  const rateLimitSecret = createHmac('sha256', config.JWT_KEY).update('rate-limit keys').digest();
  let longestWindowMs = 0;
  const context: ServiceContext<C> = {
    name,
    config,
    logger,
    metrics,
    connection,
    bus,
    store<S extends object>(storeName: string, storeOptions?: StoreOptions) {
      const store = new AggregateStore<S>(connection.db!, storeName, storeOptions, {
        outbox: relay,
        notices,
        repairAfterMs: tuning.repairAfterMs,
        waitMs: config.REPLICA_WAIT_MS,
      });
      relay.register(store as AggregateStore<object>);
      stores.push(store as AggregateStore<object>);
      return store;
    },
    model<T>(modelName: string, schema: Schema<T>) {
      return (connection.models[modelName] as Model<T> | undefined) ?? connection.model<T>(modelName, schema);
    },
    rateLimit(limitOptions) {
      longestWindowMs = Math.max(longestWindowMs, limitOptions.windowMs);
      return new SlidingWindowLimit(connection, { ...limitOptions, keySecret: rateLimitSecret });
    },
  };
  const parts = await definition.build(context);
  if (stores.length > 0) notices.connect(bus.nc, name);
  // Unique indexes carry invariants (one claim per order, one email per user): they must exist before traffic.
  await Promise.all(Object.values(connection.models).map((model) => model.init()));
  await Promise.all(stores.map((store) => store.init()));
  await relay.init();
  logger.info({ db: connection.name }, 'mongo ready');
  // Before the listeners: the changes their first handlers write are published as they are written.
  await relay.start();

  const listenerOptions: ListenerOptions = { ...tuning.listeners, service: name, logger, metrics };
  const listeners = (parts.listeners ?? []).map(
    (subscription) => new Listener(subscription as Subscription, bus, listenerOptions),
  );
  for (const listener of listeners) await listener.start();
  const workers = [...(parts.workers ?? [])];
  // Records that left their window are swept at least once a minute (TTL indexes are not portable).
  if (longestWindowMs > 0)
    workers.push(new RateLimitSweeper(connection, Math.min(longestWindowMs, 60_000), logger));
  for (const worker of workers) await worker.start();

  const app = createHttpApp({
    service: name,
    logger,
    metrics,
    ...httpAppOptionsFrom(config),
    readiness: { mongo: mongoReadiness(connection), nats: natsReadiness(bus.nc) },
    routes: (express) => {
      if (!parts.routes) return;
      const api = new ApiRouter({
        title: `${name} API`,
        version: '1.0.0',
        validateResponses: config.API_VALIDATE_RESPONSES,
      });
      parts.routes(api, express);
      api.mount(express);
    },
  });

  let server: Server | undefined;
  if (options.listen ?? true) {
    server = await listenHttp(app, config);
    logger.info({ port: (server.address() as AddressInfo).port }, 'http listening');
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const worker of workers) worker.interruptRequests?.();
      if (server) {
        const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
        server.closeIdleConnections();
        await closed;
      }
      for (const worker of [...workers].reverse()) await worker.stop();
      // Listeners before the relay: the changes their last handlers write still go out from here.
      for (const listener of [...listeners].reverse()) await listener.stop();
      await relay.stop();
      notices.disconnect();
      await bus.close();
      await connection.close();
      await tracing.shutdown();
      logger.info('stopped');
    })();
    return stopping;
  };

  return {
    context,
    parts,
    relay,
    app,
    server,
    port: server ? (server.address() as AddressInfo).port : undefined,
    stop,
  };
}

/**
 * A service's `main`: starts it (exiting with the names of bad variables), and on SIGTERM or SIGINT stops
 * taking work, finishes what is in flight and exits 0. A failed start exits 1.
 */
export function runService<C extends ServiceConfig, P extends ServiceParts>(
  definition: ServiceDefinition<C, P>,
): void {
  startService(definition, { exitOnBadConfig: true }).then(
    (running) => {
      const shutdown = (signal: string) => {
        running.context.logger.info({ signal }, 'shutting down');
        running.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            running.context.logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    },
    (error: unknown) => {
      createLogger({ service: definition.name }).fatal({ err: error }, 'start failed');
      process.exit(1);
    },
  );
}
