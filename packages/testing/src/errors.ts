/** Base of every error this package throws: a stable `code` to branch on, beside the human message. */
export class TestingError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TestingError';
    this.code = code;
  }
}

/** stop()/restart() was called on a server this process does not own (it came from `NATS_URL`). */
export class ExternalServerError extends TestingError {
  constructor(operation: string, url: string) {
    super(
      'EXTERNAL_SERVER',
      `cannot ${operation}() the NATS server at ${url}: it comes from NATS_URL and is not owned by this process ` +
        '(pass { own: true } to startNats to get a server you can stop and restart)',
    );
    this.name = 'ExternalServerError';
  }
}

/** A downloaded archive does not match the SHA-256 published for it. */
export class ChecksumMismatchError extends TestingError {
  /** The digest the sums file lists. */
  readonly expected: string;
  /** The digest of the bytes received. */
  readonly actual: string;

  constructor(file: string, expected: string, actual: string) {
    super(
      'CHECKSUM_MISMATCH',
      `SHA-256 of ${file} is ${actual}, but the release's SHA256SUMS says ${expected}`,
    );
    this.name = 'ChecksumMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** Fetching or unpacking a nats-server release failed. */
export class DownloadError extends TestingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DOWNLOAD_FAILED', message, options);
    this.name = 'DownloadError';
  }
}

/** No nats-server binary could be found or obtained for this machine. */
export class NatsServerNotFoundError extends TestingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NATS_SERVER_NOT_FOUND', message, options);
    this.name = 'NatsServerNotFoundError';
  }
}

/** nats-server exited or did not become ready in time; the message carries the tail of its log. */
export class NatsServerStartError extends TestingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NATS_SERVER_START_FAILED', message, options);
    this.name = 'NatsServerStartError';
  }
}

/** The Mongo server behind MONGO_URL (or the in-memory one) could not be reached or started. */
export class MongoStartError extends TestingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MONGO_START_FAILED', message, options);
    this.name = 'MongoStartError';
  }
}

/** A stream read or a collector's waitFor() did not see the messages it waited for in time. */
export class StreamTimeoutError extends TestingError {
  constructor(message: string) {
    super('STREAM_TIMEOUT', message);
    this.name = 'StreamTimeoutError';
  }
}
