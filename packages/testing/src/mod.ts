// biome-ignore-all assist/source/organizeImports: exports are grouped by area for readers, not sorted as one block
// The one public entry of @ticketing/testing. Every export is listed by name.

// --- real servers ---
export { startNats } from './nats/server';
export type { NatsServerHandle, StartNatsOptions } from './nats/server';
export {
  defaultNatsServerDownloadUrl,
  downloadNatsServer,
  findNatsServer,
  natsServerVersion,
  toolsCacheDir,
} from './nats/binary';
export type { DownloadNatsServerOptions, FindNatsServerOptions } from './nats/binary';
export { mongoUrlWithDatabase, startMongo } from './mongo';
export type { MongoHandle, StartMongoOptions } from './mongo';
export { serviceTestEnv } from './service-env';
export type { HasUrl } from './service-env';
export { leaveCrashedChange, metricTotal, startServiceHarness } from './service-harness';
export type {
  CrashedChangeOptions,
  HarnessedService,
  MetricsRegistry,
  ServiceHarness,
  StoreCollections,
} from './service-harness';

export {
  SANDBOX_APPROVED_TOKENS,
  SANDBOX_DECLINED_TOKENS,
  SANDBOX_MINIMUM_CHARGE_CENTS,
  startStripeSandbox,
} from './stripe-sandbox';
export type { SandboxCharge, SandboxRefund, StripeSandbox, StripeSandboxOptions } from './stripe-sandbox';

// --- streams and waiting ---
export { collectStream, missingEvents, readStream } from './streams';
export type { CollectStreamOptions, ReadStreamOptions, StreamCollector, StreamMessage } from './streams';
export { eventually } from './eventually';
export { openEventStream } from './event-stream';
export type { EventStreamReader, ReceivedEvent } from './event-stream';
export { listenHttp } from './http';
export type { HttpServerHandle } from './http';
export type { EventuallyOptions } from './eventually';

// --- slow clients ---
export { openSlowClients } from './slow-clients';
export type { SlowClient, SlowClientOptions, SlowClients } from './slow-clients';

// --- test data: users, ids, API documents ---
export { signTestUser } from './auth';
export type { SignedTestUser, SignTestUserOptions, TestUser } from './auth';
export { objectId } from './ids';
export { operationSummary, responseSchema, servedOpenApiPaths } from './openapi';
export type { OpenApiOperation, OpenApiPaths } from './openapi';

// --- errors ---
export {
  ChecksumMismatchError,
  DownloadError,
  ExternalServerError,
  MongoStartError,
  NatsServerNotFoundError,
  NatsServerStartError,
  StreamTimeoutError,
  TestingError,
} from './errors';
