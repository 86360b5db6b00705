// biome-ignore-all assist/source/organizeImports: exports are grouped by area for readers, not sorted as one block
// The one public entry of @ticketing/common. Every export is listed by name.

// --- context and logging ---
export { correlationIdOrNew, currentContext, runWithContext } from './context';
export type { WorkContext } from './context';
export { createLogger } from './logging';
export type { Logger, LoggerOptions } from './logging';

// --- events, bus, outbox ---
export {
  deadLetterSubject,
  eventCatalog,
  isSubject,
  objectIdSchema,
  orderStatusSchema,
  priceSchema,
  streamNames,
  streamSubjects,
  subjects,
  versionSchema,
} from './events/catalog';
export type { EventData, EventDefinition, StreamName, Subject } from './events/catalog';
export { EventSchemaError, OutOfOrderError, PoisonMessageError } from './events/errors';
export { parseEventData } from './events/validate';
export { versionVerdict } from './events/versioning';
export type { VersionVerdict } from './events/versioning';
export { Bus, connectBus, serviceInboxPrefix } from './bus/bus';
export type { BusOptions, PublishOptions } from './bus/bus';
export { DeadLetterHeaders, EventHeaders } from './bus/headers';
export { durableName, Listener } from './bus/listener';
export type { EventMeta, ListenerOptions } from './bus/listener';
export { ensureStreams, streamConfig } from './bus/streams';
export type { StreamOptions } from './bus/streams';
export { newEvent } from './outbox/event';
export type { NewEventOptions, OutboxEvent } from './outbox/event';
export { OutboxRelay } from './outbox/relay';
export type { EventPublisher, OutboxRelayOptions, RelayStore } from './outbox/relay';
export { AGGREGATE_WRITE_EVENT, AggregateStore } from './store/aggregate-store';
export type {
  AggregateStoreOptions,
  ApplyOutcome,
  ChangeDocument,
  Head,
  PendingMarker,
} from './store/aggregate-store';
export { AggregateExistsError, VersionConflictError } from './store/errors';

// --- service life cycle ---
export { runService, startService } from './service/run';
export type {
  OutboxSource,
  RunningService,
  ServiceContext,
  ServiceDefinition,
  ServiceModels,
  StartServiceOptions,
  Worker,
} from './service/run';

// --- http kit, config, metrics ---
export type { ConfigIssue, Env, ServiceConfig } from './config';
export {
  ConfigError,
  envBoolean,
  envDurationSeconds,
  envLogLevel,
  envMongoUrl,
  envNatsServers,
  envPort,
  envUrl,
  loadConfig,
  parseConfig,
  serviceConfigSchema,
} from './config';
export type { HttpAppOptions } from './http/app';
export { createHttpApp, HTTP_DURATION_METRIC } from './http/app';
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
export type { SessionCookieOptions, TokenLifetime, UserPayload } from './http/auth';
export { currentUser, requireAuth, sessionCookie, signUserToken, verifyUserToken } from './http/auth';
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
  sharedEventStreamHub,
} from './http/event-stream';
export type { ValidationSchemas } from './http/validate';
export { validate } from './http/validate';
export { createMetricsRegistry } from './metrics';
