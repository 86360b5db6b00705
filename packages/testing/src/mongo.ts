import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { MongoStartError } from './errors';

/** A database of its own for one test file (or one test). */
export interface MongoHandle {
  /** Full connection URI including the database name, ready for `mongoose.connect` or `new MongoClient`. */
  url: string;
  /** The database name inside `url`. */
  dbName: string;
  /** True when the server is the one at `MONGO_URL`, false for a private in-memory server. */
  external: boolean;
  /** Drops the database and closes the helper's client (or stops the in-memory server); safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startMongo}. */
export interface StartMongoOptions {
  /** Database name; default `t_<8 random hex>`, unique per call. */
  dbName?: string;
  /** Server URI to use instead of `MONGO_URL`. */
  url?: string;
  /** How long to wait for the server to answer; default 10000 ms. */
  connectTimeoutMs?: number;
}

/**
 * A fresh database: on the server at `MONGO_URL` when set, else on a private mongodb-memory-server
 * (which needs a mongod download and so internet access).
 */
export async function startMongo(options: StartMongoOptions = {}): Promise<MongoHandle> {
  const dbName = options.dbName ?? `t_${randomBytes(4).toString('hex')}`;
  const base = options.url ?? process.env.MONGO_URL;
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  return base ? useServer(base, dbName, timeoutMs) : startMemoryServer(dbName);
}

async function useServer(base: string, dbName: string, timeoutMs: number): Promise<MongoHandle> {
  const url = mongoUrlWithDatabase(base, dbName);
  const client = new MongoClient(url, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.connect();
    await client.db(dbName).command({ ping: 1 });
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new MongoStartError(`cannot reach Mongo at ${redact(base)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let stopped: Promise<void> | undefined;
  return {
    url,
    dbName,
    external: true,
    stop() {
      stopped ??= (async () => {
        try {
          await client.db(dbName).dropDatabase();
        } finally {
          await client.close();
        }
      })();
      return stopped;
    },
  };
}

async function startMemoryServer(dbName: string): Promise<MongoHandle> {
  // Loaded only here: with MONGO_URL set, a machine without a mongod binary never touches it.
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  let server: InstanceType<typeof MongoMemoryServer>;
  try {
    server = await MongoMemoryServer.create();
  } catch (err) {
    throw new MongoStartError(
      `MONGO_URL is unset and mongodb-memory-server could not start mongod (${(err as Error).message}); ` +
        'set MONGO_URL to a running MongoDB or FerretDB',
      { cause: err },
    );
  }
  let stopped: Promise<void> | undefined;
  return {
    url: server.getUri(dbName),
    dbName,
    external: false,
    stop() {
      stopped ??= server.stop().then(() => undefined);
      return stopped;
    },
  };
}

/**
 * `base` with its database path replaced by `dbName`, keeping hosts, credentials and query; credentials keep
 * authenticating against the database they did before (an explicit `authSource` is added when needed).
 */
export function mongoUrlWithDatabase(base: string, dbName: string): string {
  // Userinfo and hosts cannot contain a raw '/' or '?' (they must be percent-encoded), so the first of
  // them ends the authority.
  const match = /^(mongodb(?:\+srv)?:\/\/)([^/?]+)(\/[^?]*)?(?:\?(.*))?$/.exec(base.trim());
  if (!match) {
    throw new MongoStartError(`${redact(base)} is not a mongodb:// or mongodb+srv:// URI`);
  }
  const [, scheme, authority, path, rawQuery] = match;
  const originalDb = decodeURIComponent((path ?? '').slice(1));
  const params = (rawQuery ?? '').split('&').filter((part) => part !== '');
  const hasCredentials = authority!.includes('@');
  const hasAuthSource = params.some((part) => /^authSource=/i.test(part));
  // Without authSource the driver authenticates against the path's database, so swapping it would break
  // credentials created in admin (or in the original database). SRV records may supply authSource themselves.
  if (hasCredentials && !hasAuthSource && (originalDb !== '' || scheme === 'mongodb://')) {
    params.push(`authSource=${encodeURIComponent(originalDb || 'admin')}`);
  }
  const query = params.length > 0 ? `?${params.join('&')}` : '';
  return `${scheme}${authority}/${encodeURIComponent(dbName)}${query}`;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/?]*@/, '//***@');
}
