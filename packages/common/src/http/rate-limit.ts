import { createHmac } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import { z } from 'zod';
import type { Logger } from '../logging';
import { errorBodySchema, type ResponseSpec } from './api';
import { TooManyRequestsError } from './errors';

/** One counted attempt: the limit's record is a log of them, one document each. */
export interface RateLimitHit {
  /** `<limit name>:<keyed hash of the client key>`: no email or address is stored in clear. */
  key: string;
  /** When the attempt was counted; it counts while `at` is inside the window. */
  at: Date;
  /** When it stops counting (`at` + window); swept after that, as TTL indexes are not portable. */
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

/** The rate-limit log of a service, registered on its connection on first use. */
export function rateLimitHitModel(connection: Connection): Model<RateLimitHit> {
  return (
    (connection.models.RateLimitHit as Model<RateLimitHit> | undefined) ??
    connection.model<RateLimitHit>('RateLimitHit', hitSchema, 'rate_limit_hits')
  );
}

/** An attempt that got a place in the window; `release` takes it back (a sign-in that turned out right). */
export interface AdmittedAttempt {
  readonly admitted: true;
  /** Removes the attempt from the log, so it no longer counts. */
  release(): Promise<void>;
}

/** An attempt that was refused, and when to try again. */
export interface RefusedAttempt {
  readonly admitted: false;
  /** Milliseconds until a place frees up (at least 1000: `Retry-After` counts whole seconds). */
  readonly retryAfterMs: number;
}

/** What {@link SlidingWindowLimit.attempt} decided. */
export type AttemptDecision = AdmittedAttempt | RefusedAttempt;

/** Options of {@link SlidingWindowLimit}. */
export interface SlidingWindowLimitOptions {
  /** Separates limits sharing the collection, e.g. `address`; part of every stored key. */
  name: string;
  /** Attempts admitted per window and key. */
  limit: number;
  /** Window length, in ms. */
  windowMs: number;
  /** Secret the client keys are hashed with (HMAC-SHA-256), so the log holds no email or address. */
  keySecret: string | Buffer;
}

/**
 * At most `limit` attempts per key in any window of `windowMs`, counted in the service's Mongo database so
 * that every replica shares one budget. A sliding-window log: an attempt first inserts its record, then counts
 * the key's records inside the window, its own included, and is admitted when there are at most `limit`;
 * otherwise it deletes its record again and is refused.
 *
 * Inserting before counting is what makes this hold under races without an update or a retry: FerretDB 1.x
 * runs a `$inc` or a conditional update as a read followed by a separate write (FerretDB#3040), but every
 * server shows an acknowledged insert to every later read. Of any set of admitted attempts, the one that
 * counted last saw all the others' records, so more than `limit` of them can never be in the window together.
 * Simultaneous attempts near the limit may see each other's records before they are withdrawn and be refused
 * though one of them would have fitted: the error is always on the side of the limit. A refused attempt leaves
 * nothing behind, so a flood cannot grow the log.
 */
export class SlidingWindowLimit {
  private readonly hits: Model<RateLimitHit>;

  constructor(
    connection: Connection,
    private readonly options: SlidingWindowLimitOptions,
  ) {
    this.hits = rateLimitHitModel(connection);
  }

  /** The stored key of a client key made of `parts` (an address; an email and an address...). */
  keyOf(parts: readonly string[]): string {
    const digest = createHmac('sha256', this.options.keySecret).update(parts.join('\n')).digest('base64url');
    return `${this.options.name}:${digest}`;
  }

  /** Counts one attempt of the client key `parts`, if it fits in the window. */
  async attempt(parts: readonly string[]): Promise<AttemptDecision> {
    const key = this.keyOf(parts);
    const { limit, windowMs } = this.options;
    const at = new Date();
    const record = await this.hits.create({ key, at, expiresAt: new Date(at.getTime() + windowMs) });
    const release = async () => {
      // Only the attempt's owner deletes its record, and by id: this takes back this attempt and no other.
      await this.hits.deleteOne({ _id: record._id });
    };
    const windowStart = new Date(Date.now() - windowMs);
    const inWindow = await this.hits.countDocuments({ key, at: { $gt: windowStart } });
    if (inWindow <= limit) return { admitted: true, release };
    await release();
    return { admitted: false, retryAfterMs: await this.retryAfterMs(key, record._id, inWindow - 1) };
  }

  /**
   * How long until the `others` attempts of the key in the window are down to `limit - 1`, leaving a place:
   * until the `(others - limit + 1)`th oldest of them leaves the window.
   */
  private async retryAfterMs(key: string, own: unknown, others: number): Promise<number> {
    const mustLeave = others - this.options.limit + 1;
    const now = Date.now();
    const leaving = await this.hits
      .find({ key, _id: { $ne: own }, at: { $gt: new Date(now - this.options.windowMs) } })
      .sort({ at: 1 })
      .skip(Math.max(0, mustLeave - 1))
      .limit(1)
      .select('at')
      .lean<Array<{ at: Date }>>();
    const until = leaving[0] ? leaving[0].at.getTime() + this.options.windowMs - now : 0;
    return Math.max(1000, until);
  }
}

/** The 429 answer of a rate-limited operation, as its document describes it. */
export function tooManyRequestsAnswer(description: string): ResponseSpec {
  return {
    description,
    schema: errorBodySchema,
    headers: {
      'Retry-After': {
        description: 'Seconds to wait before trying again',
        schema: z.number().int().positive(),
      },
    },
  };
}

/**
 * A route's `before` middleware: counts each request against `limit` by the client key `keyOf` gives (none:
 * not counted, e.g. a request without a signed-in user, which auth refuses next), 429 with `Retry-After` once
 * the budget is spent.
 */
export function rateLimited(
  limit: SlidingWindowLimit,
  keyOf: (req: Request) => string[] | undefined,
): RequestHandler {
  return (req, _res, next) => {
    const parts = keyOf(req);
    if (!parts) return next();
    limit
      .attempt(parts)
      .then(
        (decision) =>
          next(decision.admitted ? undefined : new TooManyRequestsError(decision.retryAfterMs / 1000)),
        next,
      );
  };
}

/**
 * Deletes rate-limit records that left their window, on a timer (TTL indexes are not portable, DESIGN rule 4).
 * Runs as a service worker so that it stops with the service.
 */
export class RateLimitSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly hits: Model<RateLimitHit>;

  constructor(
    connection: Connection,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {
    this.hits = rateLimitHitModel(connection);
  }

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

  /** One pass: removes every record whose window ended; a failure only waits for the next pass. */
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
