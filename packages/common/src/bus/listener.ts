import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, headers as natsHeaders, TimeoutError } from '@nats-io/nats-core';
import { Counter, Histogram, type Registry } from 'prom-client';
import { runWithContext } from '../context';
import { deadLetterSubject, type EventData, eventCatalog, type Subject } from '../events/catalog';
import { OutOfOrderError, PoisonMessageError } from '../events/errors';
import type { Logger } from '../logging';
import type { AggregateStore } from '../store/aggregate-store';
import { inConsumerSpan, TRACEPARENT_HEADER } from '../tracing';
import type { Bus } from './bus';
import { DeadLetterHeaders, EventHeaders } from './headers';
import { type EventMeta, type ReceivedEvent, receiveEvent } from './received';

export type { EventMeta } from './received';

/**
 * Handles one valid payload of its subject. It must be idempotent (the same event may come again) and may meet
 * events in any order; what it throws steers the listener:
 * - {@link OutOfOrderError}: not yet — an earlier event must be applied first; redelivered after a delay;
 * - {@link PoisonMessageError}: never — dead-lettered at once;
 * - anything else: a failure — redelivered with growing delays, dead-lettered after `maxDeliver` deliveries.
 */
export type EventHandler<S extends Subject> = (data: EventData<S>, meta: EventMeta) => unknown;

/** One entry of a service's subscription table: a subject and its handler. */
export interface Subscription<S extends Subject = Subject> {
  readonly subject: S;
  readonly handle: EventHandler<S>;
  /**
   * Messages with the same key are handled one after the other, others at once (default: the id of the
   * aggregate the event is about, see {@link aggregateIdOf}).
   */
  readonly key?: (data: EventData<S>) => string;
  /**
   * What a replay of history runs for this subject (see {@link replicate} and replay/replay.ts): the part of `handle` that writes the
   * service's view of other services' aggregates, without its side effects (charges, refunds, timers).
   * Absent: the subscription is not replayed.
   */
  readonly replay?: EventHandler<S>;
  /** The stores `replay` writes: what a replay rebuilds and compares. */
  readonly rebuilds?: ReadonlyArray<AggregateStore<object>>;
}

/** A subscription table entry: `on('payment.created', completeOrder)`. */
export function on<S extends Subject>(
  subject: S,
  handle: EventHandler<S>,
  options: { key?: (data: EventData<S>) => string } = {},
): Subscription<S> {
  return { subject, handle, key: options.key };
}

/**
 * A subscription table entry that keeps a replica (`store`) of another service's aggregates with `apply`, then
 * runs `sideEffects`. A replay of history runs `apply` alone, so a service's replicas can be rebuilt
 * from the streams through the very code that keeps them: `replicate('ticket.created', tickets, copyTicket)`.
 */
export function replicate<S extends Subject>(
  subject: S,
  store: AggregateStore<object> | ReadonlyArray<AggregateStore<object>>,
  apply: EventHandler<S>,
  options: { key?: (data: EventData<S>) => string; sideEffects?: EventHandler<S> } = {},
): Subscription<S> {
  const { sideEffects } = options;
  return {
    subject,
    key: options.key,
    handle: sideEffects
      ? async (data, meta) => {
          await apply(data, meta);
          await sideEffects(data, meta);
        }
      : apply,
    replay: apply,
    rebuilds: Array.isArray(store) ? store : [store as AggregateStore<object>],
  };
}

/** The aggregate an event is about: its `id`, or the `orderId` of events that name an order only. */
export function aggregateIdOf(data: unknown): string {
  const { id, orderId } = data as { id?: unknown; orderId?: unknown };
  return String(id ?? orderId ?? '');
}

/** Options shared by every listener of a service. */
export interface ListenerOptions {
  /** Service name: part of the durable consumer name and of dead-letter subjects. */
  service: string;
  /** Logger for outcomes. */
  logger: Logger;
  /** Deliveries before a failing message is dead-lettered (default 20). */
  maxDeliver?: number;
  /** First redelivery delay after a failure, in ms (default 250); doubles per delivery up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  /** Longest redelivery delay, in ms (default 30000). */
  maxRetryDelayMs?: number;
  /** How long the server waits for an ack before redelivering, in ms (default 30000). */
  ackWaitMs?: number;
  /**
   * Messages buffered per pull (default 32). Those still in the buffer at a stop are handed back at once, so a
   * rolling restart delays few.
   */
  batchSize?: number;
  /** Messages handled at once by this instance, never two with the same key (default 8). */
  concurrency?: number;
  /** Registry for handled/retried/dead-lettered counters and the handling-time histogram. */
  metrics?: Registry;
}

const outcomes = ['acked', 'retried', 'deferred', 'dead_lettered', 'returned'] as const;
type Outcome = (typeof outcomes)[number];

const metricsByRegistry = new WeakMap<Registry, { outcomes: Counter; duration: Histogram }>();

function listenerMetrics(registry: Registry) {
  let metrics = metricsByRegistry.get(registry);
  if (!metrics) {
    metrics = {
      outcomes: new Counter({
        name: 'events_handled_total',
        help: 'Events taken by listeners, by subject and outcome',
        labelNames: ['subject', 'outcome'],
        registers: [registry],
      }),
      duration: new Histogram({
        name: 'event_handler_duration_seconds',
        help: 'Time spent in event handlers',
        labelNames: ['subject'],
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, metrics);
  }
  return metrics;
}

/** How many times a listener asks JetStream to set up its consumer when the request times out. */
const consumerSetupAttempts = 4;

/** The durable consumer name of a (service, subject): `<service>-<subject-with-dashes>`. */
export function durableName(service: string, subject: string): string {
  return `${service}-${subject.replace(/\./g, '-')}`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 1000);
}

/** A message read off the consumer: its payload parsed and validated, or why it cannot be. */
type Taken<S extends Subject> = ReceivedEvent<S> & { msg: JsMsg };

/**
 * Runs one subscription: a durable pull consumer of its subject, shared by every replica of the service. It
 * acks after the handler succeeded, redelivers with back-off on a failure, holds back an early version, and
 * sends bad JSON, schema failures, poison and exhausted messages to the dead-letter stream. No message stops it.
 */
export class Listener<S extends Subject = Subject> {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly logger: Logger;
  private readonly maxDeliver: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly ackWaitMs: number;
  private readonly keyOf: (data: EventData<S>) => string;

  constructor(
    private readonly subscription: Subscription<S>,
    private readonly bus: Bus,
    private readonly options: ListenerOptions,
  ) {
    this.logger = options.logger;
    this.maxDeliver = options.maxDeliver ?? 20;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.ackWaitMs = options.ackWaitMs ?? 30_000;
    this.keyOf = subscription.key ?? aggregateIdOf;
  }

  /** The subject consumed. */
  get subject(): S {
    return this.subscription.subject;
  }

  /** The durable consumer name, shared by every replica of the service. */
  get durable(): string {
    return durableName(this.options.service, this.subject);
  }

  /** The stream holding the subject. */
  get stream(): string {
    return eventCatalog[this.subject].stream;
  }

  /** Creates or updates the durable consumer, then starts pulling. Resolves once the loop runs. */
  async start(): Promise<void> {
    // Every series exists from the start at 0, so that rates and alerts see the first event too.
    const metrics = this.options.metrics ? listenerMetrics(this.options.metrics) : undefined;
    for (const outcome of outcomes) metrics?.outcomes.inc({ subject: this.subject, outcome }, 0);
    metrics?.duration.zero({ subject: this.subject });
    this.stopping = false;
    this.messages = await this.subscribe();
    this.loop = this.run(this.messages).catch((error: unknown) => {
      this.logger.error({ err: error, durable: this.durable }, 'listener loop ended unexpectedly');
    });
    this.logger.info({ durable: this.durable, stream: this.stream }, 'listener started');
  }

  /** Stops pulling, lets the messages in hand finish and be acked, hands back what was buffered. */
  async stop(): Promise<void> {
    if (!this.messages) return;
    this.stopping = true;
    const done = this.loop;
    await this.messages.close();
    await done;
    // The acks of the last handlers were sent without waiting: make sure the server has them.
    if (!this.bus.isClosed()) await this.bus.nc.flush();
    this.messages = undefined;
    this.logger.info({ durable: this.durable }, 'listener stopped');
  }

  /** Handles messages at once up to `concurrency`, one key at a time: a key's messages wait for each other. */
  private async run(messages: ConsumerMessages): Promise<void> {
    const concurrency = Math.max(1, this.options.concurrency ?? 8);
    const lanes = new Map<string, Promise<void>>();
    const inFlight = new Set<Promise<void>>();
    for await (const msg of messages) {
      if (this.stopping) {
        // Pulled before the stop: hand it straight back so another replica takes it now.
        msg.nak();
        continue;
      }
      const taken = this.read(msg);
      const key = 'data' in taken ? this.keyOf(taken.data) : '';
      const previous = lanes.get(key);
      const task: Promise<void> = (previous ?? Promise.resolve()).then(() => this.take(taken));
      lanes.set(key, task);
      inFlight.add(task);
      void task.finally(() => {
        inFlight.delete(task);
        if (lanes.get(key) === task) lanes.delete(key);
      });
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    // Stopping: the messages in hand finish and are acked before the connection drains.
    await Promise.all(inFlight);
  }

  private read(msg: JsMsg): Taken<S> {
    const received = receiveEvent(this.subject, {
      stream: this.stream,
      seq: msg.seq,
      time: msg.time,
      headers: msg.headers,
      text: msg.string(),
      deliveryCount: msg.info.deliveryCount,
    });
    return { ...received, msg };
  }

  private consumerConfig(): Partial<ConsumerConfig> {
    return {
      durable_name: this.durable,
      filter_subject: this.subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.ackWaitMs),
      // One more than our own limit, so a message whose last delivery died with its process still comes
      // back once, and is dead-lettered then instead of sitting unacknowledged forever.
      max_deliver: this.maxDeliver + 1,
      max_ack_pending: 1000,
    };
  }

  /**
   * Creates or updates the durable and starts pulling from it. On a JetStream cluster a consumer is set up by a
   * round of consensus, and while every replica of every service asks at once (a start, a rolling update) a
   * request may time out: it is asked again rather than failing the start.
   */
  private async subscribe(): Promise<ConsumerMessages> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.createOrUpdateConsumer();
        const consumer = await this.bus.js.consumers.get(this.stream, this.durable);
        return await consumer.consume({ max_messages: this.options.batchSize ?? 32 });
      } catch (error) {
        if (!(error instanceof TimeoutError) || attempt === consumerSetupAttempts) throw error;
        this.logger.warn({ durable: this.durable, attempt }, 'consumer set-up timed out; asking again');
      }
    }
  }

  private async createOrUpdateConsumer(): Promise<void> {
    const config = this.consumerConfig();
    try {
      await this.bus.jsm.consumers.info(this.stream, this.durable);
      await this.bus.jsm.consumers.update(this.stream, this.durable, config);
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound))
        throw error;
      try {
        await this.bus.jsm.consumers.add(this.stream, config);
      } catch (addError) {
        // A replica created it meanwhile: make sure it carries our configuration.
        if (!(addError instanceof JetStreamApiError)) throw addError;
        await this.bus.jsm.consumers.update(this.stream, this.durable, config);
      }
    }
  }

  private retryDelay(deliveryCount: number): number {
    return Math.min(this.retryDelayMs * 2 ** Math.max(0, deliveryCount - 1), this.maxRetryDelayMs);
  }

  /** Handles one message and settles it; never throws. */
  private async take(taken: Taken<S>): Promise<void> {
    const metrics = this.options.metrics ? listenerMetrics(this.options.metrics) : undefined;
    const stopTimer = metrics?.duration.startTimer({ subject: this.subject });
    let outcome: Outcome;
    try {
      outcome = await inConsumerSpan(this.consumed(taken.msg), () => this.settle(taken));
    } catch (error) {
      // Settling itself failed (connection lost mid-ack): the server redelivers after ack_wait.
      this.logger.error(
        { err: error, seq: taken.msg.seq },
        'could not settle message; it will be redelivered',
      );
      outcome = 'returned';
    }
    stopTimer?.();
    metrics?.outcomes.inc({ subject: this.subject, outcome });
  }

  /** The message as its consumer span names it. */
  private consumed(msg: JsMsg) {
    return {
      subject: this.subject,
      id: msg.headers?.get(EventHeaders.id) ?? `${this.stream}:${msg.seq}`,
      consumer: this.durable,
      deliveryCount: msg.info.deliveryCount,
      traceparent: msg.headers?.get(TRACEPARENT_HEADER) || undefined,
    };
  }

  private async settle(taken: Taken<S>): Promise<Outcome> {
    const { msg } = taken;
    if (msg.info.deliveryCount > this.maxDeliver) {
      return this.deadLetter(msg, `max deliveries (${this.maxDeliver}) reached`);
    }
    if ('poison' in taken) return this.deadLetter(msg, taken.poison);
    const { meta } = taken;
    const heartbeat = setInterval(() => msg.working(), Math.max(1000, this.ackWaitMs / 2));
    try {
      await runWithContext({ correlationId: meta.correlationId }, () =>
        this.subscription.handle(taken.data, meta),
      );
    } catch (error) {
      return this.handleFailure(msg, error);
    } finally {
      clearInterval(heartbeat);
    }
    // Not awaited: a lost ack only means a redelivery, which the handler ignores; stopping drains the connection.
    msg.ack();
    return 'acked';
  }

  private async handleFailure(msg: JsMsg, error: unknown): Promise<Outcome> {
    const deliveryCount = msg.info.deliveryCount;
    if (error instanceof PoisonMessageError) return this.deadLetter(msg, error.message);
    if (deliveryCount >= this.maxDeliver) {
      return this.deadLetter(
        msg,
        `max deliveries (${this.maxDeliver}) reached; last error: ${(error as Error).message}`,
      );
    }
    const delay = this.retryDelay(deliveryCount);
    if (error instanceof OutOfOrderError) {
      this.logger.debug({ seq: msg.seq, deliveryCount, delay, reason: error.message }, 'event held back');
      msg.nak(delay);
      return 'deferred';
    }
    this.logger.warn(
      { err: error, seq: msg.seq, deliveryCount, delay },
      'handler failed; will be redelivered',
    );
    msg.nak(delay);
    return 'retried';
  }

  /**
   * Copies the message, untouched, with its headers plus the reason, to `dlq.<service>.<subject>`, then
   * terminates it. If the copy cannot be stored, the message is redelivered instead: nothing is dropped.
   */
  private async deadLetter(msg: JsMsg, reason: string): Promise<Outcome> {
    const headers = natsHeaders();
    if (msg.headers) {
      for (const key of msg.headers.keys()) {
        if (key === EventHeaders.id) continue;
        for (const value of msg.headers.values(key)) headers.append(key, value);
      }
    }
    const originalId = msg.headers?.get(EventHeaders.id);
    if (originalId) headers.set(DeadLetterHeaders.originalId, originalId);
    headers.set(DeadLetterHeaders.error, oneLine(reason));
    headers.set(DeadLetterHeaders.service, this.options.service);
    headers.set(DeadLetterHeaders.subject, msg.subject);
    headers.set(DeadLetterHeaders.stream, this.stream);
    headers.set(DeadLetterHeaders.streamSequence, String(msg.seq));
    headers.set(DeadLetterHeaders.deliveryCount, String(msg.info.deliveryCount));
    try {
      await this.bus.js.publish(deadLetterSubject(this.options.service, msg.subject), msg.data, {
        headers,
        // One dead letter per (service, stream message), however often this runs for it.
        msgID: `dlq:${this.options.service}:${this.stream}:${msg.seq}`,
      });
    } catch (error) {
      this.logger.error(
        { err: error, seq: msg.seq },
        'could not store dead letter; message will be redelivered',
      );
      msg.nak(this.retryDelay(msg.info.deliveryCount));
      return 'retried';
    }
    this.logger.error({ seq: msg.seq, subject: msg.subject, reason }, 'message dead-lettered');
    msg.term(oneLine(reason).slice(0, 200));
    return 'dead_lettered';
  }
}
