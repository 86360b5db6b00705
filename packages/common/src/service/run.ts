import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import mongoose, { type Connection } from 'mongoose';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { type Bus, connectBus, serviceInboxPrefix } from '../bus/bus';
import type { Listener, ListenerOptions } from '../bus/listener';
import { type Env, loadConfig, parseConfig, type ServiceConfig } from '../config';
import type { Subject } from '../events/catalog';
import { createHttpApp } from '../http/app';
import { mongoReadiness, natsReadiness } from '../http/readiness';
import { createLogger, type Logger } from '../logging';
import { createMetricsRegistry } from '../metrics';
import { OutboxRelay, type RelayStore } from '../outbox/relay';

/** A store whose changes the relay publishes (an {@link AggregateStore}). */
export type OutboxSource = RelayStore & {
  /** Creates its indexes. */
  init(): Promise<void>;
};

/** What a service's `models` returns: its models and stores, among them the ones with events to publish. */
export interface ServiceModels {
  /** Stores whose changes carry events: the relay publishes from them. */
  readonly outbox: ReadonlyArray<OutboxSource>;
}

/** Everything a service's routes, listeners and workers are built from. */
export interface ServiceContext<
  C extends ServiceConfig = ServiceConfig,
  M extends ServiceModels = ServiceModels,
> {
  /** Validated configuration. */
  config: C;
  /** The service's logger. */
  logger: Logger;
  /** The service's metrics registry. */
  metrics: Registry;
  /** The service's own Mongo database. */
  connection: Connection;
  /** The service's models and stores, as its `models` built them. */
  models: M;
  /** The NATS/JetStream bus. */
  bus: Bus;
  /** The outbox relay of the service's aggregates. */
  relay: OutboxRelay;
  /** Options for the service's listeners (service name, logger, metrics). */
  listenerOptions: ListenerOptions;
}

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

/** What a service is made of; `runService` wires it in the same order for every service. */
export interface ServiceDefinition<C extends ServiceConfig, M extends ServiceModels = ServiceModels> {
  /** Service name: logs, metrics, durable consumer names, dead-letter subjects. */
  name: string;
  /** The service's config schema (`serviceConfigSchema.extend(...)`). */
  configSchema: z.ZodType<C>;
  /** Registers the service's models and stores on its connection. */
  models(connection: Connection): M;
  /** The service's listeners. */
  listeners?(context: ServiceContext<C, M>): Array<Listener<Subject>>;
  /** Mounts the service's routes. */
  routes(app: Express, context: ServiceContext<C, M>): void;
  /** Background workers started after the listeners and relay. */
  workers?(context: ServiceContext<C, M>): Worker[];
  /** Listener tuning for this service (e.g. short retry delays in tests). */
  listenerOptions?: Partial<Omit<ListenerOptions, 'service' | 'logger' | 'metrics'>>;
  /** Outbox relay timer, in ms (default 1000). */
  relayIntervalMs?: number;
}

/** A started service. */
export interface RunningService<
  C extends ServiceConfig = ServiceConfig,
  M extends ServiceModels = ServiceModels,
> {
  /** The wiring, for tests that look inside. */
  context: ServiceContext<C, M>;
  /** The Express app (served by `server` when `listen` was true). */
  app: Express;
  /** The HTTP server, when listening. */
  server?: Server;
  /** The port listened on, when listening. */
  port?: number;
  /** Stops in reverse order: HTTP, workers, relay, listeners, NATS (drained), Mongo. */
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

/**
 * Wires a service: config → Mongo (indexes ready) → NATS → streams → listeners → outbox relay → workers
 * → HTTP. Each step waits for the previous, so the service only takes requests once it can keep its promises.
 */
export async function startService<C extends ServiceConfig, M extends ServiceModels>(
  definition: ServiceDefinition<C, M>,
  options: StartServiceOptions = {},
): Promise<RunningService<C, M>> {
  const env = options.env ?? process.env;
  const config = options.exitOnBadConfig
    ? loadConfig(definition.configSchema, env)
    : parseConfig(definition.configSchema, env);
  const logger = createLogger({ service: definition.name, level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry(definition.name);

  const connection = await mongoose
    .createConnection(config.MONGO_URL, { serverSelectionTimeoutMS: 10_000 })
    .asPromise();
  const models = definition.models(connection);
  // Unique indexes carry invariants (one payment per order, one email per user): they must exist before traffic.
  await Promise.all(Object.values(connection.models).map((model) => model.init()));
  await Promise.all(models.outbox.map((store) => store.init()));
  logger.info({ db: connection.name }, 'mongo connected');

  const bus = await connectBus({
    servers: config.NATS_URL,
    name: definition.name,
    logger,
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
    inboxPrefix: serviceInboxPrefix(definition.name),
  });
  await bus.ensureStreams({ replicas: config.NATS_STREAM_REPLICAS });

  const relay = new OutboxRelay({
    publisher: bus,
    stores: [...models.outbox],
    logger,
    metrics,
    intervalMs: definition.relayIntervalMs,
    writes: connection,
  });
  const listenerOptions: ListenerOptions = {
    ...definition.listenerOptions,
    service: definition.name,
    logger,
    metrics,
  };
  const context: ServiceContext<C, M> = {
    config,
    logger,
    metrics,
    connection,
    models,
    bus,
    relay,
    listenerOptions,
  };

  const listeners = definition.listeners?.(context) ?? [];
  for (const listener of listeners) await listener.start();
  relay.start();
  const workers = definition.workers?.(context) ?? [];
  for (const worker of workers) await worker.start();

  const app = createHttpApp({
    service: definition.name,
    logger,
    metrics,
    jwtKey: config.JWT_KEY,
    cookieSecure: config.COOKIE_SECURE,
    readiness: { mongo: mongoReadiness(connection), nats: natsReadiness(bus.nc) },
    routes: (express) => definition.routes(express, context),
  });

  let server: Server | undefined;
  if (options.listen ?? true) {
    server = await new Promise<Server>((resolve, reject) => {
      const listening = app.listen(config.PORT, (error?: Error) =>
        error ? reject(error) : resolve(listening),
      );
    });
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
      await relay.stop();
      for (const listener of [...listeners].reverse()) await listener.stop();
      await bus.close();
      await connection.close();
      logger.info('stopped');
    })();
    return stopping;
  };

  return {
    context,
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
export function runService<C extends ServiceConfig, M extends ServiceModels>(
  definition: ServiceDefinition<C, M>,
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
