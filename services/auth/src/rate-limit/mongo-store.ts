import type { Logger, Worker } from '@ticketing/common';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

/** One counted request: the store is a log of hits, one document each. */
export interface RateLimitHit {
  /** `<key>#<n>`: the unique index on `_id` gives each number of a key to exactly one request. */
  _id: string;
  /** The limiter's prefix plus the client key (`ip:1.2.3.4`, `email:a@b.c`). */
  key: string;
  /** The hit's number among the key's hits: 1, 2, 3... with no gaps (numbers come back once swept). */
  n: number;
  /** When the request was counted. */
  at: Date;
  /** When this hit stops counting (`at` + window); expired hits are swept, as TTL indexes are not portable. */
  expiresAt: Date;
}

const hitSchema = new Schema<RateLimitHit>(
  {
    _id: { type: String, required: true },
    key: { type: String, required: true },
    n: { type: Number, required: true },
    at: { type: Date, required: true },
    expiresAt: { type: Date, required: true, index: true },
  },
  { versionKey: false },
);
hitSchema.index({ key: 1, n: -1 });

/** The rate-limit hit model on `connection`, registered on first use. */
export function rateLimitHitModel(connection: Connection): Model<RateLimitHit> {
  return (
    (connection.models.RateLimitHit as Model<RateLimitHit> | undefined) ??
    connection.model<RateLimitHit>('RateLimitHit', hitSchema, 'rate_limit_hits')
  );
}

// A request that keeps losing the next number to others is part of a flood on one key: it is refused.
const MAX_CLAIM_ATTEMPTS = 20;

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

/**
 * express-rate-limit store kept in the service's Mongo database, so every replica of auth counts against the
 * same limit (the memory store would give each replica a budget of its own). A sliding-window log in which
 * each admitted request claims the key's next hit number by inserting `<key>#<n>`: inserts against the unique
 * `_id` are atomic on every Mongo-compatible server, while a counter's `$inc` or a conditional update is not on
 * FerretDB 1.x (an update there is a read followed by a separate write, FerretDB#3040).
 * Hit n may be claimed only while hit n - limit is out of the window: the `limit - 1` hits before it are then
 * the only ones inside, so of any number of simultaneous requests exactly as many as fit get through.
 * (Ranking hits by ObjectId after inserting them let requests through whose earlier-id rivals were still in
 * flight.) A refused request logs nothing, so a flood cannot grow the log.
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

  /**
   * Counts one request for `key`. Resolves with at most `limit` hits when the request got a place in the
   * window, with `limit + 1` (and when a place frees up) when it did not.
   */
  async increment(key: string): Promise<ClientRateLimitInfo> {
    const fullKey = `${this.prefix}${key}`;
    const limit = this.limit ?? Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      const n = (await this.latestNumber(fullKey)) + 1;
      const now = new Date();
      if (n > limit) {
        const blocker = await this.hits.findById(`${fullKey}#${n - limit}`).lean<RateLimitHit>();
        // Absent means swept, which only happens to hits that left the window.
        if (blocker && this.inWindow(blocker, now)) {
          return { totalHits: limit + 1, resetTime: this.leavesWindow(blocker) };
        }
      }
      try {
        await this.hits.create({
          _id: `${fullKey}#${n}`,
          key: fullKey,
          n,
          at: now,
          expiresAt: new Date(now.getTime() + this.windowMs),
        });
      } catch (error) {
        // Another request took number n first: look again at where the key stands.
        if (isDuplicateKey(error)) continue;
        throw error;
      }
      return { totalHits: Math.min(n, limit), resetTime: new Date(now.getTime() + this.windowMs) };
    }
    return { totalHits: limit + 1, resetTime: new Date(Date.now() + this.windowMs) };
  }

  private async latestNumber(fullKey: string): Promise<number> {
    const latest = await this.hits
      .findOne({ key: fullKey })
      .sort({ n: -1 })
      .select('n')
      .lean<{ n: number }>();
    return latest?.n ?? 0;
  }

  private inWindow(hit: RateLimitHit, now: Date): boolean {
    return hit.at.getTime() > now.getTime() - this.windowMs;
  }

  private leavesWindow(hit: RateLimitHit): Date {
    return new Date(hit.at.getTime() + this.windowMs);
  }

  /** The key's hits in the window. */
  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const fullKey = `${this.prefix}${key}`;
    const now = new Date();
    const inWindow = await this.hits
      .find({ key: fullKey, at: { $gt: new Date(now.getTime() - this.windowMs) } })
      .sort({ at: 1 })
      .lean<RateLimitHit[]>();
    if (inWindow.length === 0) return undefined;
    return { totalHits: inWindow.length, resetTime: this.leavesWindow(inWindow[0]!) };
  }

  /** Takes back the key's latest hit (express-rate-limit's skip options use it); its number is free again. */
  async decrement(key: string): Promise<void> {
    const fullKey = `${this.prefix}${key}`;
    const n = await this.latestNumber(fullKey);
    if (n > 0) await this.hits.deleteOne({ _id: `${fullKey}#${n}` });
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
