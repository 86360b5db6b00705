import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type PubAck,
} from '@nats-io/jetstream';
import { type NatsConnection, headers as natsHeaders } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { eventCatalog, type Subject } from '../events/catalog';
import { parseEventData } from '../events/validate';
import type { Logger } from '../logging';
import { newEvent, type OutboxEvent } from '../outbox/event';
import { inPublishSpan, TRACEPARENT_HEADER } from '../tracing';
import { EventHeaders } from './headers';
import { ensureStreams, type StreamOptions } from './streams';

/** Options of {@link connectBus}. */
export interface BusOptions {
  /** NATS server URL(s); a comma-separated string is split. */
  servers: string | string[];
  /** Connection name shown by the server (the service name). */
  name: string;
  /** Logger for connection status changes. */
  logger: Logger;
  /** NATS user, when the server requires one. */
  user?: string;
  /** NATS password for `user`. */
  pass?: string;
  /** How long to wait for a publish acknowledgement, in ms (default 5000). */
  publishTimeoutMs?: number;
  /** Prefix of the reply inboxes (default `_INBOX`); see {@link serviceInboxPrefix}. */
  inboxPrefix?: string;
}

/**
 * The reply-inbox prefix of a service, `_INBOX.<service>`. Pulled messages and JetStream API answers arrive on
 * inboxes; with a prefix of its own, NATS permissions can let a service subscribe to its replies only, so it
 * cannot read the messages delivered to another service's consumers.
 */
export function serviceInboxPrefix(service: string): string {
  return `_INBOX.${service}`;
}

/** Options of {@link Bus.publish}. */
export interface PublishOptions {
  /** Event id; a fresh one by default. Publishing the same id twice stores one message. */
  id?: string;
  /** Correlation id; the current work's by default. */
  correlationId?: string;
}

/** A connection to NATS with JetStream, and typed publishing of catalog events. */
export class Bus {
  /** The JetStream client (publish, consumers). */
  readonly js: JetStreamClient;
  private readonly publishTimeoutMs: number;

  constructor(
    /** The underlying NATS connection. */
    readonly nc: NatsConnection,
    /** The JetStream manager (streams and consumers administration). */
    readonly jsm: JetStreamManager,
    private readonly logger: Logger,
    publishTimeoutMs = 5000,
  ) {
    this.js = jetstream(nc);
    this.publishTimeoutMs = publishTimeoutMs;
  }

  /** Creates or updates every stream of the catalog and the dead-letter stream; safe to run from every replica. */
  ensureStreams(options?: StreamOptions): Promise<void> {
    return ensureStreams(this.jsm, this.logger, options);
  }

  /** Validates and publishes one event; resolves with JetStream's acknowledgement (the message is stored). */
  async publish<S extends Subject>(subject: S, data: unknown, options: PublishOptions = {}): Promise<PubAck> {
    return this.send(newEvent(subject, data, options)); // newEvent validated it
  }

  /**
   * Publishes an already-built event (from an outbox): its id, correlation id and time are kept. It is
   * validated again, as the catalog may have changed since the event was written, and sent in the current schema
   * version (upcast when it was written in an older one).
   */
  async publishEvent(event: OutboxEvent): Promise<PubAck> {
    const data = parseEventData(event.subject, event.data, event.schemaVersion ?? 1);
    return this.send({ ...event, data });
  }

  private send(event: OutboxEvent): Promise<PubAck> {
    const subject = event.subject;
    const headers = natsHeaders();
    headers.set(EventHeaders.type, subject);
    headers.set(EventHeaders.schemaVersion, String(eventCatalog[subject].schemaVersion));
    headers.set(EventHeaders.correlationId, event.correlationId);
    headers.set(EventHeaders.occurredAt, event.occurredAt.toISOString());
    return inPublishSpan(event, (traceparent) => {
      if (traceparent) headers.set(TRACEPARENT_HEADER, traceparent);
      return this.js.publish(subject, JSON.stringify(event.data), {
        msgID: event.id,
        headers,
        timeout: this.publishTimeoutMs,
      });
    });
  }

  /** True once the connection is closed for good (a reconnecting connection is not closed). */
  isClosed(): boolean {
    return this.nc.isClosed();
  }

  /** Lets in-flight messages finish, then closes the connection. */
  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain();
  }
}

/**
 * Connects to NATS, retrying forever (also for the first connection, so start order does not matter),
 * and logs every status change. Resolves once connected.
 */
export async function connectBus(options: BusOptions): Promise<Bus> {
  const servers =
    typeof options.servers === 'string' ? options.servers.split(',').map((s) => s.trim()) : options.servers;
  const nc = await connect({
    servers,
    name: options.name,
    user: options.user,
    pass: options.pass,
    inboxPrefix: options.inboxPrefix,
    // Its own core messages (change notices to the other replicas) are nothing this process needs back.
    noEcho: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
  });
  options.logger.info({ server: nc.getServer() }, 'nats connected');
  void logStatus(nc, options.logger);
  const jsm = await jetstreamManager(nc);
  return new Bus(nc, jsm, options.logger, options.publishTimeoutMs);
}

async function logStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case 'disconnect':
        logger.warn({ server: status.server }, 'nats disconnected');
        break;
      case 'reconnect':
        logger.info({ server: status.server }, 'nats reconnected');
        break;
      case 'error':
        logger.error({ err: status.error }, 'nats error');
        break;
      case 'ldm':
        logger.warn({ server: status.server }, 'nats server entering lame duck mode');
        break;
      case 'staleConnection':
      case 'slowConsumer':
      case 'forceReconnect':
      case 'close':
        logger.warn({ status: status.type }, 'nats status');
        break;
      default:
        break;
    }
  }
}
