// biome-ignore-all assist/source/organizeImports: exports are grouped by area for readers, not sorted as one block
// The one public entry of @ticketing/common. Every export is listed by name.

// --- context and logging ---
export { correlationIdOrNew, currentContext, runWithContext } from './context';
export type { WorkContext } from './context';
export { createLogger } from './logging';
export type { Logger, LoggerOptions } from './logging';
export {
  currentTraceparent,
  inTraceOf,
  startTracing,
  TRACEPARENT_HEADER,
  TRACERESPONSE_HEADER,
  tracingEnabled,
} from './tracing';
export type { Tracing, TracingOptions } from './tracing';

// --- events, bus, outbox ---
export {
  cancelReasonSchema,
  currencySchema,
  deadLetterSubject,
  eventCatalog,
  isSubject,
  objectIdSchema,
  orderStatusSchema,
  streamNames,
  streamSubjects,
  subjects,
  versionSchema,
} from './events/catalog';
export {
  centsToPrice,
  MAX_PRICE,
  priceInCents,
  priceInputSchema,
  priceSchema,
  priceToCents,
} from './events/price';
export { TITLE_MAX_LENGTH, titleSchema } from './events/title';
export type { EventData, EventDataInput, EventDefinition, StreamName, Subject } from './events/catalog';
export { EventSchemaError, OutOfOrderError, PoisonMessageError } from './events/errors';
export { parseEventData, schemaVersionOf } from './events/validate';
export { eventMetaOf, receiveEvent } from './bus/received';
export type { RawStreamMessage, ReceivedEvent } from './bus/received';
export { Bus, connectBus, serviceInboxPrefix } from './bus/bus';
export type { BusOptions, PublishOptions } from './bus/bus';
export { DeadLetterHeaders, EventHeaders } from './bus/headers';
export { followStream } from './bus/follow';
export type { FollowedMessage, FollowOptions, StreamFollower } from './bus/follow';
export { aggregateIdOf, durableName, Listener, on, replicate } from './bus/listener';
export type { EventHandler, EventMeta, ListenerOptions, Subscription } from './bus/listener';
export { ensureStreams, streamConfig } from './bus/streams';
export type { StreamOptions } from './bus/streams';
export { newEvent } from './outbox/event';
export type { NewEventOptions, OutboxEvent } from './outbox/event';
export { OutboxRelay } from './outbox/relay';
export { replayService } from './replay/replay';
export { forgetUser, pseudonymOf } from './erasure/forget-user';
export type { UserData } from './erasure/forget-user';
export type {
  ReplayOptions,
  ReplayProgress,
  ReplayReport,
  ReplayStart,
  StoreComparison,
} from './replay/replay';
export type { EventPublisher, OutboxClaim, OutboxRelayOptions, OutboxSource } from './outbox/relay';

// --- the store of versioned aggregates ---
export { AggregateStore } from './store/aggregate-store';
export { type VersionEntry, versionHistory, versionHistorySchema } from './store/history';
export type {
  ApplyOutcome,
  ChangeDocument,
  Decided,
  Decider,
  Decision,
  EventInput,
  Versioned,
  StoreOptions,
  StoreWiring,
} from './store/aggregate-store';
export { AggregateExistsError, ContentionError } from './store/errors';
export { ChangeNotices, changeNoticeSubject } from './store/notices';

// --- jobs that come due ---
export { DUE_SLOT_MS, DueScheduler, dueSlotOf } from './scheduler/due-scheduler';
export type { DueJob, DueSchedulerOptions } from './scheduler/due-scheduler';

// --- service life cycle ---
export { runService, startService } from './service/run';
export type {
  AnySubscription,
  RunningService,
  ServiceContext,
  ServiceDefinition,
  ServiceParts,
  ServiceTuning,
  StartServiceOptions,
  Worker,
} from './service/run';

// --- http kit, config, metrics ---
export type { ConfigIssue, Env, ServiceConfig } from './config';
export {
  ConfigError,
  envBoolean,
  envDurationSeconds,
  envHost,
  envLogLevel,
  envMongoUrl,
  envNatsServers,
  envPort,
  envTrustProxy,
  envUrl,
  loadConfig,
  parseConfig,
  serviceConfigSchema,
} from './config';
export type { HttpAppOptions } from './http/app';
export { apiSecurityHeaders, createHttpApp, HTTP_DURATION_METRIC, httpAppOptionsFrom } from './http/app';
export type { ListenConfig, ServerTimeouts } from './http/server';
export {
  connectionsCheckingIntervalFor,
  createHttpServer,
  DEFAULT_SERVER_TIMEOUTS,
  listenHttp,
  serverTimeoutsFrom,
} from './http/server';
export {
  ApiRouter,
  errorBodySchema,
  jsonSchema,
  mergeOpenApiDocuments,
  ResponseContractError,
} from './http/api';
export type {
  ApiRouterOptions,
  AuthRequirement,
  HttpMethod,
  ResponseSpec,
  RouteSpec,
  TypedRequest,
} from './http/api';
export type { SessionCookieOptions, TokenCheckOptions, TokenLifetime, UserPayload } from './http/auth';
export {
  currentUser,
  DEFAULT_JWT_MAX_AGE_SECONDS,
  requireAuth,
  sessionCookie,
  signUserToken,
  verifyUserToken,
} from './http/auth';
export { errorHandler, notFoundHandler } from './http/error-handler';
export type { ErrorBody, ErrorEntry } from './http/errors';
export {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  HttpError,
  NotAuthorizedError,
  NotFoundError,
  PayloadTooLargeError,
  RequestValidationError,
  TooManyRequestsError,
} from './http/errors';
export type { NatsPingable, NatsReadinessOptions, ReadinessCheck, ReadinessReport } from './http/readiness';
export {
  DEFAULT_READINESS_TIMEOUT_MS,
  mongoReadiness,
  natsReadiness,
  runReadiness,
} from './http/readiness';
export { REQUEST_ID_HEADER, requestId, requestIdFrom } from './http/request-id';
export { linkNextPage, nextPageHeader, pageQuerySchema } from './http/paging';
export { rateLimited, SlidingWindowLimit, tooManyRequestsAnswer } from './http/rate-limit';
export type { AttemptDecision } from './http/rate-limit';
export type { PageQuery } from './http/paging';
export type {
  EventSelector,
  EventStreamHubOptions,
  ServeStreamOptions,
  StreamedEvent,
} from './http/event-stream';
export {
  EventStreamClosedError,
  EventStreamHub,
  LAST_EVENT_ID_HEADER,
  lastEventIdOf,
} from './http/event-stream';
export type { ValidationSchemas } from './http/validate';
export { validate } from './http/validate';
export { createMetricsRegistry } from './metrics';
