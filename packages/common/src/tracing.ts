import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { Request, RequestHandler } from 'express';

/**
 * Tracing of the system (docs/ARCHITECTURE.md, "Tracing"): a span per HTTP request, per published event and
 * per handled event, tied into one trace by W3C `traceparent` — stored with each event in the outbox, sent in
 * the message headers. Off (nothing registered, every helper here a branch on one boolean) unless a service is
 * started with an OTLP endpoint.
 */

/** The W3C trace context header, on HTTP requests and on event messages. */
export const TRACEPARENT_HEADER = 'traceparent';
/** The answer's header naming the trace of a request (W3C Trace Context Level 2), so a client can look it up. */
export const TRACERESPONSE_HEADER = 'traceresponse';

// Attributes of the messaging semantic conventions (still incubating, so not in the stable entry point).
const MESSAGING_SYSTEM = 'messaging.system';
const MESSAGING_DESTINATION = 'messaging.destination.name';
const MESSAGING_OPERATION = 'messaging.operation.type';
const MESSAGING_MESSAGE_ID = 'messaging.message.id';
const MESSAGING_CONSUMER_GROUP = 'messaging.consumer.group.name';
const MESSAGING_DELIVERY_COUNT = 'messaging.nats.delivery_count';

const TRACER = '@ticketing/common';

/** Options of {@link startTracing}. */
export interface TracingOptions {
  /** The `service.name` of every span of this process. */
  service: string;
  /** OTLP/HTTP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`): spans go to `<endpoint>/v1/traces`. */
  endpoint?: string;
  /** Where spans go instead of OTLP (tests: an in-memory exporter). */
  exporter?: SpanExporter;
}

/** A started tracing setup; {@link Tracing.shutdown} flushes the spans still in hand. */
export interface Tracing {
  readonly enabled: boolean;
  /** Exports the spans ended so far. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let provider: TracerProvider | undefined;
let users = 0;
let enabled = false;

/**
 * Registers the tracer provider of the process (spans batched to OTLP), the AsyncLocalStorage context manager
 * and the W3C propagator — when there is an endpoint or an exporter; otherwise nothing, and tracing costs a
 * boolean test per request and per message. One provider per process: services started in one process (tests)
 * share the first one's, and the last shutdown removes it.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (!options.endpoint && !options.exporter) {
    return { enabled: false, flush: async () => undefined, shutdown: async () => undefined };
  }
  if (!provider) {
    const exporter =
      options.exporter ??
      new OTLPTraceExporter({ url: `${options.endpoint!.replace(/\/+$/, '')}/v1/traces` });
    provider = new TracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.service }),
      spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000 })],
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    enabled = true;
  }
  users++;
  let stopped = false;
  return {
    enabled: true,
    flush: async () => {
      await provider?.forceFlush();
    },
    async shutdown() {
      if (stopped) return;
      stopped = true;
      if (--users > 0 || !provider) return;
      const last = provider;
      provider = undefined;
      enabled = false;
      await last.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** Whether this process records spans. */
export function tracingEnabled(): boolean {
  return enabled;
}

function tracer() {
  return trace.getTracer(TRACER);
}

/** The `traceparent` of the work in progress, to store with an event it causes; undefined when untraced. */
export function currentTraceparent(): string | undefined {
  if (!enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier[TRACEPARENT_HEADER];
}

/** `{ traceparent }` of the work in progress, or nothing: spread into a stored event (Mongo keeps no undefined). */
export function traceparentField(): { traceparent?: string } {
  const traceparent = currentTraceparent();
  return traceparent ? { traceparent } : {};
}

function contextFrom(traceparent: string | undefined): Context {
  return traceparent
    ? propagation.extract(ROOT_CONTEXT, { [TRACEPARENT_HEADER]: traceparent })
    : ROOT_CONTEXT;
}

/**
 * Runs `fn` in the trace a stored `traceparent` names: work done later on behalf of earlier work (a timer it
 * set), so what `fn` writes and publishes joins that trace. As is when untraced.
 */
export function inTraceOf<T>(traceparent: string | undefined, fn: () => T): T {
  if (!enabled || !traceparent) return fn();
  return context.with(contextFrom(traceparent), fn);
}

/** Ids of the active span, for log lines; empty when untraced. */
export function traceLogFields(): { traceId?: string; spanId?: string } {
  if (!enabled) return {};
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}

function failed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
}

/** What a published event says about itself, for its producer span. */
export interface PublishedEvent {
  id: string;
  subject: string;
  occurredAt: Date;
  /** The context of the work that caused it, as stored in the outbox. */
  traceparent?: string;
}

/**
 * Runs `publish` in a producer span `send <subject>`, a child of the work that caused the event (its stored
 * `traceparent`, else the active context), and gives it the `traceparent` to send in the message headers. The
 * span starts when the event was written, so it shows how long the event waited in the outbox.
 */
export async function inPublishSpan<T>(
  event: PublishedEvent,
  publish: (traceparent: string | undefined) => Promise<T>,
): Promise<T> {
  if (!enabled) return publish(event.traceparent);
  const parent = event.traceparent ? contextFrom(event.traceparent) : context.active();
  const span = tracer().startSpan(
    `send ${event.subject}`,
    {
      kind: SpanKind.PRODUCER,
      startTime: event.occurredAt,
      attributes: {
        [MESSAGING_SYSTEM]: 'nats',
        [MESSAGING_DESTINATION]: event.subject,
        [MESSAGING_OPERATION]: 'send',
        [MESSAGING_MESSAGE_ID]: event.id,
      },
    },
    parent,
  );
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent, span), carrier);
  try {
    return await publish(carrier[TRACEPARENT_HEADER]);
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** What a listener knows about a message, for its consumer span. */
export interface ConsumedMessage {
  subject: string;
  id: string;
  /** The durable consumer (one per service and subject). */
  consumer: string;
  deliveryCount: number;
  /** The `traceparent` header of the message. */
  traceparent?: string;
}

/**
 * Runs `handle` in a consumer span `process <subject>`, a child of the producer span the message's
 * `traceparent` names, so the work an event causes (and the events that work writes) joins the trace of the
 * request that started it. `outcomeOf` names the listener's verdict on the result (`acked`, `retried`, …),
 * recorded on the span; anything but `acked` or `deferred` marks it as an error.
 */
export async function inConsumerSpan<T extends string>(
  message: ConsumedMessage,
  handle: () => Promise<T>,
): Promise<T> {
  if (!enabled) return handle();
  const parent = contextFrom(message.traceparent);
  const span = tracer().startSpan(
    `process ${message.subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        [MESSAGING_SYSTEM]: 'nats',
        [MESSAGING_DESTINATION]: message.subject,
        [MESSAGING_OPERATION]: 'process',
        [MESSAGING_MESSAGE_ID]: message.id,
        [MESSAGING_CONSUMER_GROUP]: message.consumer,
        [MESSAGING_DELIVERY_COUNT]: message.deliveryCount,
      },
    },
    parent,
  );
  try {
    const outcome = await context.with(trace.setSpan(parent, span), handle);
    span.setAttribute('ticketing.outcome', outcome);
    if (outcome !== 'acked' && outcome !== 'deferred')
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    return outcome;
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * A server span per request, `<method> <route pattern>`, continuing the caller's `traceparent` if it sent one,
 * and the trace named back in `traceresponse`. `routeOf` gives the matched pattern once the response is done.
 */
export function httpSpans(routeOf: (req: Request) => string | undefined): RequestHandler {
  return (req, res, next) => {
    if (!enabled) {
      next();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer().startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: { [ATTR_HTTP_REQUEST_METHOD]: req.method, [ATTR_URL_PATH]: req.path },
      },
      parent,
    );
    const { traceId, spanId, traceFlags } = span.spanContext();
    res.setHeader(TRACERESPONSE_HEADER, `00-${traceId}-${spanId}-0${traceFlags & 1}`);
    res.once('close', () => {
      const route = routeOf(req);
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute(ATTR_HTTP_ROUTE, route);
      }
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}
