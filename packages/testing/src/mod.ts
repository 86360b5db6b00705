// The one public entry of @ticketing/testing. Every export is listed by name.

export type { SignedTestUser, SignTestUserOptions, TestUser } from './auth';
// --- auth ---
export { signTestUser } from './auth';
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
export type { EventuallyOptions } from './eventually';
export { eventually } from './eventually';
export type { MongoHandle, StartMongoOptions } from './mongo';
// --- Mongo ---
export { mongoUrlWithDatabase, startMongo } from './mongo';
export type { DownloadNatsServerOptions, FindNatsServerOptions } from './nats/binary';
// --- NATS server ---
export {
  defaultNatsServerDownloadUrl,
  downloadNatsServer,
  findNatsServer,
  natsServerVersion,
  toolsCacheDir,
} from './nats/binary';
export type { NatsServerHandle, StartNatsOptions } from './nats/server';
export { startNats } from './nats/server';
export type { HasUrl } from './service-env';
export { serviceTestEnv } from './service-env';
export type { CollectStreamOptions, ReadStreamOptions, StreamCollector, StreamMessage } from './streams';
// --- streams and waiting ---
export { collectStream, readStream } from './streams';
