import { randomBytes } from 'node:crypto';
import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { Request, Response } from 'express';
import { isSubject, type StreamName, type Subject } from '../events/catalog';
import { parseEventData } from '../events/validate';
import type { Logger } from '../logging';
import { BadRequestError, HttpError } from './errors';

/** One event of a stream as an event-stream client receives it. */
export interface StreamedEvent {
  /** The message's sequence in its JetStream stream: the SSE `id`, and what `Last-Event-ID` resumes after. */
  seq: number;
  /** The event's subject: the SSE `event`. */
  subject: Subject;
  /** The event's payload (validated against the catalog): the SSE `data`. */
  data: Record<string, unknown>;
}

/**
 * Decides whether one connection gets an event. Called once per event, in stream order, so it may keep state
 * (e.g. learn the ids of a user's orders from their order.created events).
 */
export type EventSelector = (event: StreamedEvent) => boolean;

/** Options of {@link EventStreamHub}. */
export interface EventStreamHubOptions {
  /** The JetStream client and manager (a service's `Bus` has both). */
  bus: { js: JetStreamClient; jsm: JetStreamManager };
  /** The stream to follow. */
  stream: Exclude<StreamName, 'DLQ'>;
  /**
   * Prefix of the names of its ordered consumers, e.g. `tickets_updates` (letters, digits, `_` and `-`): NATS
   * permissions and operators recognise them by it.
   */
  consumerPrefix: string;
  /** Where failures are logged. */
  logger: Logger;
  /** Interval of the comment line that keeps proxies from closing a quiet stream, in ms (default 15000). */
  heartbeatMs?: number;
  /** Reconnect delay the stream tells EventSource to use, in ms (default 2000). */
  retryMs?: number;
  /**
   * Bytes a connection may have unsent before it is dropped (default 1 MiB). A client that reads that slowly
   * reconnects with `Last-Event-ID` and catches up from the stream instead of growing this process's memory.
   */
  maxBufferedBytes?: number;
  /** Delay before the live consumer is recreated after it failed, in ms (default 1000). */
  restartDelayMs?: number;
}

/** Options of {@link EventStreamHub.serve}. */
export interface ServeStreamOptions {
  /**
   * Builds this connection's selector (default: every event). It runs after the connection is subscribed, so an
   * event published while it loads (from a database, say) is not missed; if it throws, the request fails with
   * that error before anything is sent.
   */
  select?: () => EventSelector | Promise<EventSelector>;
}

/** 503: the process is stopping and opens no new stream; the client reconnects (to another replica). */
export class EventStreamClosedError extends HttpError {
  override readonly name = 'EventStreamClosedError';
  readonly status = 503;
  readonly code = 'EVENT_STREAM_CLOSED';

  constructor() {
    super('The event stream is restarting, reconnect shortly');
  }
}

/** The header (and query parameter, for clients that cannot set headers) a reconnecting client resumes with. */
export const LAST_EVENT_ID_HEADER = 'Last-Event-ID';

const consumerNamePattern = /^[A-Za-z0-9_-]+$/;

/** `Last-Event-ID` of a request (header first, then `?lastEventId=`): undefined, or a stream sequence ≥ 0. */
export function lastEventIdOf(req: Request): number | undefined {
  const header = req.get(LAST_EVENT_ID_HEADER);
  const query = typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined;
  const raw = (header ?? query)?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,15}$/.test(raw))
    throw new BadRequestError(
      'Last-Event-ID must be the id of an event (a stream sequence)',
      LAST_EVENT_ID_HEADER,
    );
  return Number(raw);
}

/** The wire form of one event (text/event-stream). */
function eventFrame(event: StreamedEvent): string {
  return `id: ${event.seq}\nevent: ${event.subject}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/** One open event-stream response. */
class StreamConnection {
  /** Events that arrived while the connection was being prepared or replaying, in order. */
  private pending: StreamedEvent[] | undefined = [];
  private lastSent: number;
  private select: EventSelector = () => true;
  closed = false;

  constructor(
    private readonly res: Response,
    resumeAfter: number | undefined,
    private readonly maxBufferedBytes: number,
  ) {
    this.lastSent = resumeAfter ?? 0;
  }

  /** Starts writing (headers, reconnect delay) with the selector this connection filters by. */
  open(select: EventSelector, retryMs: number): void {
    this.select = select;
    this.res.status(200);
    this.res.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      // nginx (ingress-nginx) would otherwise buffer the response and deliver events in bursts.
      'X-Accel-Buffering': 'no',
      // Once the stream ends the socket goes: a keep-alive socket would hold a server that is stopping.
      Connection: 'close',
    });
    this.res.flushHeaders();
    this.write(`retry: ${retryMs}\n\n`);
  }

  /** A live event: sent now, or kept for later while the connection is still being prepared. */
  offer(event: StreamedEvent): void {
    if (this.closed) return;
    if (this.pending) {
      this.pending.push(event);
      return;
    }
    this.send(event);
  }

  /** Sends an event once, in order: anything at or before the last sequence sent is a repeat. */
  send(event: StreamedEvent): void {
    if (this.closed || event.seq <= this.lastSent) return;
    this.lastSent = event.seq;
    if (this.select(event)) this.write(eventFrame(event));
  }

  /** Lowers the sequence repeats are measured against (never raises it). */
  resumeAfter(seq: number): void {
    this.lastSent = Math.min(this.lastSent, seq);
  }

  /** Sends what arrived meanwhile and from now on sends live events as they come. */
  goLive(): void {
    const pending = this.pending ?? [];
    this.pending = undefined;
    for (const event of pending) this.send(event);
  }

  comment(text: string): void {
    if (!this.closed && !this.pending) this.write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = undefined;
    if (this.res.headersSent) this.res.end();
  }

  private write(text: string): void {
    if (this.closed) return;
    this.res.write(text);
    if (this.res.writableLength > this.maxBufferedBytes) this.end();
  }
}

/**
 * Server-Sent Events from one JetStream stream (`id: <stream sequence>`, `event: <subject>`,
 * `data: <payload>`; `Last-Event-ID` resumes after that sequence; a comment every 15 s).
 *
 * One ordered consumer per process follows the stream live and fans each event out to every open connection,
 * so a thousand browser tabs cost one consumer. A reconnecting client first gets what it missed from an ordered
 * consumer of its own, started after its `Last-Event-ID`, then the live events it was handed meanwhile (a
 * repeat of a sequence it already has is skipped).
 *
 * It is a worker of the service: `start` before taking requests; `interruptRequests` ends every open stream
 * (clients reconnect, to another replica) so the HTTP server can close; `stop` also ends the live consumer.
 */
export class EventStreamHub {
  private readonly connections = new Set<StreamConnection>();
  private readonly heartbeatMs: number;
  private readonly retryMs: number;
  private readonly maxBufferedBytes: number;
  private readonly restartDelayMs: number;
  private messages: ConsumerMessages | undefined;
  private following: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The last sequence the live consumer delivered (or the stream's last one when it started). */
  private lastSeq = 0;

  constructor(private readonly options: EventStreamHubOptions) {
    if (!consumerNamePattern.test(options.consumerPrefix))
      throw new Error(`consumerPrefix "${options.consumerPrefix}" may hold letters, digits, _ and - only`);
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.retryMs = options.retryMs ?? 2000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.restartDelayMs = options.restartDelayMs ?? 1000;
  }

  /** Number of open streams. */
  get size(): number {
    return this.connections.size;
  }

  /** Starts following the stream from its current end. */
  async start(): Promise<void> {
    const info = await this.options.bus.jsm.streams.info(this.options.stream);
    this.lastSeq = info.state.last_seq;
    this.following = this.follow();
    this.heartbeat = setInterval(() => {
      for (const connection of this.connections) connection.comment('keep-alive');
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Ends every open stream and takes no new one (clients reconnect, to another replica). */
  interruptRequests(): void {
    this.stopped = true;
    for (const connection of this.connections) connection.end();
    this.connections.clear();
  }

  /** Ends every open stream and stops following the stream. */
  async stop(): Promise<void> {
    this.interruptRequests();
    clearInterval(this.heartbeat);
    await this.messages?.close();
    await this.following;
  }

  /**
   * Answers a request with the event stream: replays what followed `Last-Event-ID`, then live events, each
   * passed through the connection's selector, until the client goes away or the hub stops. A malformed
   * `Last-Event-ID` is a {@link BadRequestError} naming it (thrown before anything is sent).
   */
  async serve(req: Request, res: Response, options: ServeStreamOptions = {}): Promise<void> {
    if (this.stopped) throw new EventStreamClosedError();
    const resumeAfter = lastEventIdOf(req);
    const connection = new StreamConnection(res, resumeAfter, this.maxBufferedBytes);
    // Subscribed first: whatever the stream receives from here on reaches the connection.
    this.connections.add(connection);
    const forget = () => {
      connection.end();
      this.connections.delete(connection);
    };
    res.once('close', forget);
    let select: EventSelector;
    try {
      select = (await options.select?.()) ?? (() => true);
    } catch (error) {
      res.off('close', forget);
      forget();
      throw error;
    }
    if (connection.closed) return;
    connection.open(select, this.retryMs);
    if (resumeAfter !== undefined) {
      try {
        await this.replay(connection, resumeAfter);
      } catch (error) {
        // Headers are out: all that is left is to end the stream; the client reconnects and tries again.
        this.options.logger.warn({ err: error, after: resumeAfter }, 'event stream replay failed');
        forget();
        return;
      }
    }
    connection.goLive();
  }

  /** Sends a connection every event after `after` up to the stream's current end, from its own consumer. */
  private async replay(connection: StreamConnection, after: number): Promise<void> {
    const { js, jsm } = this.options.bus;
    const last = (await jsm.streams.info(this.options.stream)).state.last_seq;
    if (last <= after) {
      // An id past the end means the stream was recreated (sequences start over): send what it has from now on.
      connection.resumeAfter(last);
      return;
    }
    const consumer = await js.consumers.get(this.options.stream, {
      name_prefix: this.consumerName('replay'),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: after + 1,
    });
    const messages = await consumer.consume({ max_messages: 256 });
    try {
      for await (const message of messages) {
        const event = this.toEvent(message);
        if (event) connection.send(event);
        if (connection.closed || message.seq >= last || message.info.pending === 0) break;
      }
    } finally {
      await messages.close();
      await consumer.delete().catch(() => undefined);
    }
  }

  /** Follows the stream live, recreating the consumer after a failure, until stopped. */
  private async follow(): Promise<void> {
    while (!this.stopped) {
      try {
        const consumer = await this.options.bus.js.consumers.get(this.options.stream, {
          name_prefix: this.consumerName('live'),
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: this.lastSeq + 1,
        });
        this.messages = await consumer.consume({ max_messages: 256 });
        if (this.stopped) await this.messages.close();
        for await (const message of this.messages) {
          this.lastSeq = message.seq;
          const event = this.toEvent(message);
          if (!event) continue;
          for (const connection of this.connections) connection.offer(event);
        }
        await consumer.delete().catch(() => undefined);
      } catch (error) {
        if (this.stopped) return;
        this.options.logger.warn({ err: error, stream: this.options.stream }, 'event stream consumer failed');
      }
      if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, this.restartDelayMs));
    }
  }

  /** The event a message holds, or undefined for one that is not a valid catalog event (it is dead-lettered elsewhere). */
  private toEvent(message: JsMsg): StreamedEvent | undefined {
    if (!isSubject(message.subject)) return undefined;
    try {
      const data = parseEventData(message.subject, message.json()) as Record<string, unknown>;
      return { seq: message.seq, subject: message.subject, data };
    } catch {
      return undefined;
    }
  }

  private consumerName(kind: 'live' | 'replay'): string {
    return `${this.options.consumerPrefix}_${kind}_${randomBytes(6).toString('hex')}`;
  }
}
