import type { Logger, Worker } from '@ticketing/common';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Connection, Model, Types } from 'mongoose';
import { Schema } from 'mongoose';

/** One counted request: the store is a log of hits, one document each. */
export interface RateLimitHit {
  /** The limiter's prefix plus the client key (`ip:1.2.3.4`, `email:a@b.c`). */
  key: string;
  /** When the request was counted. */
  at: Date;
  /** When this hit stops counting (`at` + window); expired hits are swept, as TTL indexes are not portable. */
  expiresAt: Date;
}

const hitSchema = new Schema<RateLimitHit>(
  {
    key: { type: String, required: true },
    at: { type: Date, required: true },
    expiresAt: { type: Date, required: true, index: true },
  },
  { versionKey: false },
);
hitSchema.index({ key: 1, at: 1 });

/** The rate-limit hit model on `connection`, registered on first use. */
export function rateLimitHitModel(connection: Connection): Model<RateLimitHit> {
  return (
    (connection.models.RateLimitHit as Model<RateLimitHit> | undefined) ??
    connection.model<RateLimitHit>('RateLimitHit', hitSchema, 'rate_limit_hits')
  );
}

/**
 * express-rate-limit store kept in the service's Mongo database, so every replica of auth counts against the
 * same limit (the memory store would give each replica a budget of its own). A sliding-window log: each request
 * inserts a hit, then counts the key's hits in the window up to its own. Inserts are atomic on every
 * Mongo-compatible server, while a counter's `$inc` is not on FerretDB 1.x (an update there is a read followed
 * by a separate write, FerretDB#3040): parallel requests would lose increments and slip past the limit.
 */
export class MongoRateLimitStore implements Store {
  /** Hits are shared by every replica. */
  readonly localKeys = false;
  private windowMs = 60_000;
  private limit: number | undefined;

  constructor(
    private readonly hits: Model<RateLimitHit>,
    /** Separates limiters sharing the collection, e.g. `ip:` and `email:`. */
    readonly prefix: string,
  ) {}

  /** Called by express-rate-limit with the limiter's options. */
  init(options: Options): void {
    this.windowMs = options.windowMs;
    this.limit = typeof options.limit === 'number' ? options.limit : undefined;
  }

  /** Counts one request for `key`; resolves with the key's hits in the window, this one included. */
  async increment(key: string): Promise<ClientRateLimitInfo> {
    const fullKey = `${this.prefix}${key}`;
    const now = new Date();
    // A key already at its limit is refused without logging more hits, so a flood cannot grow the log;
    // this early count is only a shortcut: the decision is the count taken after the insert.
    if (this.limit !== undefined) {
      const before = await this.count(fullKey, now);
      if (before >= this.limit) return this.info(fullKey, now, before + 1);
    }
    const hit = await this.hits.create({
      key: fullKey,
      at: now,
      expiresAt: new Date(now.getTime() + this.windowMs),
    });
    // The hit's rank among the key's hits (ObjectIds order them), not the total: of N simultaneous requests
    // exactly `limit` rank within it, where a plain count taken after N inserts could refuse them all.
    return this.info(fullKey, now, await this.count(fullKey, now, hit._id));
  }

  private count(fullKey: string, now: Date, upTo?: Types.ObjectId): Promise<number> {
    return this.hits.countDocuments({
      key: fullKey,
      at: { $gt: new Date(now.getTime() - this.windowMs) },
      ...(upTo ? { _id: { $lte: upTo } } : {}),
    });
  }

  /**
   * The key's state. Over the limit, `resetTime` is when enough hits have left the window for one more request
   * to fit (what Retry-After tells the client); under it, the end of a window starting now.
   */
  private async info(fullKey: string, now: Date, totalHits: number): Promise<ClientRateLimitInfo> {
    if (this.limit === undefined || totalHits <= this.limit) {
      return { totalHits, resetTime: new Date(now.getTime() + this.windowMs) };
    }
    const logged = Math.min(totalHits, await this.count(fullKey, now));
    const mustExpire = Math.max(1, logged - this.limit + 1);
    const [nth] = await this.hits
      .find({ key: fullKey, at: { $gt: new Date(now.getTime() - this.windowMs) } })
      .sort({ at: 1 })
      .skip(mustExpire - 1)
      .limit(1)
      .lean<RateLimitHit[]>();
    return { totalHits, resetTime: new Date((nth?.at ?? now).getTime() + this.windowMs) };
  }

  /** The key's hits in the window. */
  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const fullKey = `${this.prefix}${key}`;
    const now = new Date();
    const totalHits = await this.count(fullKey, now);
    return totalHits === 0 ? undefined : this.info(fullKey, now, totalHits);
  }

  /** Takes back the key's latest hit (express-rate-limit's skip options use it). */
  async decrement(key: string): Promise<void> {
    const latest = await this.hits
      .findOne({ key: `${this.prefix}${key}` })
      .sort({ at: -1 })
      .lean<RateLimitHit & { _id: unknown }>();
    if (latest) await this.hits.deleteOne({ _id: latest._id });
  }

  /** Forgets the key's hits. */
  async resetKey(key: string): Promise<void> {
    await this.hits.deleteMany({ key: `${this.prefix}${key}` });
  }
}

/**
 * Deletes rate-limit hits that left their window, on a timer (TTL indexes are not portable, DESIGN rule 4).
 * Runs as a service worker so that it stops with the service.
 */
export class RateLimitHitSweeper implements Worker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly hits: Model<RateLimitHit>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Starts sweeping every `intervalMs`. */
  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep().finally(() => {
        this.running = undefined;
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass: removes every hit whose window ended; a failure only waits for the next pass. */
  async sweep(): Promise<number> {
    try {
      const result = await this.hits.deleteMany({ expiresAt: { $lte: new Date() } });
      return result.deletedCount;
    } catch (error) {
      this.logger.warn({ err: error }, 'rate-limit sweep failed');
      return 0;
    }
  }
}
