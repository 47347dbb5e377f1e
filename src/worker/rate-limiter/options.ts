/**
 * Options of the per-space rate limiter, their defaults and their checks.
 */
import type { RedisConnection } from '../../queues.js';
import type { RateLimitSpec } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';

export interface RateLimiterOptions {
  /** Connection for the limiter's scripts. Shared with other users; not closed by `close()`. */
  redis: RedisConnection;
  /**
   * Optional connection in subscriber mode. With it, a pause started by any process (429,
   * exhausted headers) also voids the permits other processes hold at once; without it they
   * learn of it at their next reservation. Shared; not closed by `close()`.
   */
  subscriber?: RedisConnection;
  /** CONFBULK_PREFIX, e.g. `confbulk` (src/keys.ts puts the space's keys under its hash tag). */
  prefix: string;
  /** Space profile name; every process limiting this space shares its windows. */
  space: string;
  /**
   * Windows kept at once: in every one, fewer than `count` requests started in the last
   * `durationMs` + margin. One window or several (`13800/10s` and `2000/1s`).
   */
  limits: RateLimitSpec[];
  /**
   * Starting (and narrowest) margin in ms: every request is counted for its window's
   * duration + the margin from its grant. A request whose answer shows it may have reached
   * the server later than that is counted from its arrival bound instead (arrivals.ts), so
   * the margin covers what answers cannot show: delivery that varies without the answer
   * being later (the event loop, the network, the server's own scheduling, all of it
   * before the server's count). It costs `jitterMs / durationMs` of a window's rate at a
   * backlog (1 % of 1380/1s, 0.1 % of 13800/10s at the default). It widens after a 429 the
   * space's own counts cannot explain, and narrows back with successes.
   * @defaultValue 10
   */
  jitterMs?: number;
  /**
   * Widest the margin may grow, in ms.
   * @defaultValue the larger of 8 x `jitterMs` and 200, at most a tenth of the shortest window
   */
  maxMarginMs?: number;
  /**
   * Successes (reported by every process) over which a widened margin halves its distance
   * to `jitterMs`. Slow on purpose: a margin that fits the delivery should stay.
   * @defaultValue 20000
   */
  marginHalfLife?: number;
  /**
   * Longest time after its grant (Redis time) at which this process still uses a permit;
   * later ones are given back, never saved up. A request written late answers late and is
   * counted from its arrival bound, so this bounds how long permits are held idle (and how
   * often a request moves), not what a window holds. A permit given back holds its place
   * until then and costs a call; one used late costs its lateness: at 10 ms, four processes
   * on two cores gave back 1,300-1,900 of 11,040 per rate run, at 25 ms 340-520.
   * @defaultValue 25
   */
  maxLatenessMs?: number;
  /**
   * Most permits one reservation grants once a window is more than half full; a process
   * asks for as many as callers wait. The requests of one grant are written one after the
   * other, all counted at the grant's time, so near a full window their spread eats into
   * the margin: 100 at once put 100 requests over 25 ms on a loaded 2-core machine, and
   * even at rest 20 at once drew 9-33 429s at the second window in
   * test/worker/rate.test.ts, 5 at once 1-4 (before requests were counted from their
   * arrival, rate-limiter.ts).
   * @defaultValue 5
   */
  maxBatch?: number;
  /**
   * Most permits one reservation grants while every window stays at most half full after
   * it (an idle space starting a batch): the spread of a grant's writes matters only where
   * the window's count comes close to its limit, and a request that reached the server
   * late is counted from then on anyway. So an empty 13,800 window takes 138 calls for its
   * first half instead of 1,380, and an unthrottled worker makes a reservation per 50
   * requests instead of per 5 (those calls were about a tenth of its busy time in a profile:
   * docs/benchmarks.md, "Overhead").
   * @defaultValue 50
   */
  maxBurstBatch?: number;
  /**
   * Multiplicative decrease of every window's count on a 429 that starts a new episode.
   * @defaultValue 0.97
   */
  decreaseFactor?: number;
  /**
   * Lowest rate, as a fraction of the configured counts.
   * @defaultValue 0.1
   */
  minRateFactor?: number;
  /**
   * Additive recovery of the rate factor per second without 429s, counted from the end of
   * the episode's pause.
   * @defaultValue 0.02
   */
  recoveryPerSecond?: number;
  /**
   * First pause after a 429 without `Retry-After`, in ms; doubles per consecutive episode.
   * @defaultValue 250
   */
  backoffBaseMs?: number;
  /**
   * Longest pause after a 429 without `Retry-After`, in ms.
   * @defaultValue 10000
   */
  backoffMaxMs?: number;
  /**
   * Longest pause taken from a `Retry-After` or a reset time, in ms, so that a bogus header
   * cannot stop a space for hours.
   * @defaultValue 60000
   */
  maxPauseMs?: number;
  /**
   * How long a lower count learned from the server's `limit` header holds, in ms, unless
   * seen again.
   * @defaultValue 600000
   */
  serverLimitTtlMs?: number;
  logger?: Logger;
  /** Records wait times, 429s and the margin under the label `space`. */
  metrics?: Pick<
    Metrics,
    'rateLimitWait' | 'rateLimited' | 'rateLimitMargin' | 'rateLimitMarginWidened'
  >;
}

/**
 * Default lateness bound (ms): room for a busy process's event loop and scheduler (timers
 * have 1 ms granularity, a descheduled process on a shared core loses several ms), so that
 * it rarely gives back a permit it was about to use (see `maxLatenessMs`).
 */
const DEFAULT_LATENESS_MS = 25;

export type ResolvedRateLimiterOptions = Required<
  Omit<RateLimiterOptions, 'subscriber' | 'logger' | 'metrics'>
> &
  Pick<RateLimiterOptions, 'subscriber' | 'logger' | 'metrics'>;

function check(ok: boolean, option: string, allowed: string, value: unknown): void {
  if (!ok) {
    throw new TypeError(
      `Expected \`${option}\` to be ${allowed}; got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
}

function between(value: number, min: number, max: number): boolean {
  return Number.isFinite(value) && value >= min && value <= max;
}

/** Fills in defaults and checks every option. @throws TypeError naming the option. */
export function resolveOptions(options: RateLimiterOptions): ResolvedRateLimiterOptions {
  const { limits } = options;
  const jitterMs = options.jitterMs ?? 10;
  check(
    Array.isArray(limits) && limits.length >= 1,
    'limits',
    'a non-empty array of { count, durationMs }',
    limits,
  );
  limits.forEach((limit, i) => {
    check(
      Number.isInteger(limit?.count) && limit.count >= 1,
      `limits[${i}].count`,
      'a whole number >= 1',
      limit?.count,
    );
    check(
      between(limit.durationMs, 1, 86_400_000),
      `limits[${i}].durationMs`,
      'from 1 to 86400000',
      limit.durationMs,
    );
  });
  check(
    new Set(limits.map((l) => l.durationMs)).size === limits.length,
    'limits',
    'windows of different durations',
    limits,
  );
  const shortest = Math.min(...limits.map((l) => l.durationMs));
  check(
    typeof options.prefix === 'string' && options.prefix !== '',
    'prefix',
    'a non-empty string',
    options.prefix,
  );
  check(
    typeof options.space === 'string' && options.space !== '',
    'space',
    'a non-empty string',
    options.space,
  );
  const resolved: ResolvedRateLimiterOptions = {
    ...options,
    jitterMs,
    maxMarginMs:
      options.maxMarginMs ??
      Math.max(jitterMs, Math.min(Math.max(8 * jitterMs, 200), shortest / 10)),
    marginHalfLife: options.marginHalfLife ?? 20_000,
    maxLatenessMs: options.maxLatenessMs ?? DEFAULT_LATENESS_MS,
    maxBatch: options.maxBatch ?? 5,
    maxBurstBatch: options.maxBurstBatch ?? Math.max(50, options.maxBatch ?? 5),
    decreaseFactor: options.decreaseFactor ?? 0.97,
    minRateFactor: options.minRateFactor ?? 0.1,
    recoveryPerSecond: options.recoveryPerSecond ?? 0.02,
    backoffBaseMs: options.backoffBaseMs ?? 250,
    backoffMaxMs: options.backoffMaxMs ?? 10_000,
    maxPauseMs: options.maxPauseMs ?? 60_000,
    serverLimitTtlMs: options.serverLimitTtlMs ?? 600_000,
  };
  check(between(resolved.jitterMs, 0, 60_000), 'jitterMs', 'from 0 to 60000', resolved.jitterMs);
  check(
    between(resolved.maxMarginMs, resolved.jitterMs, 3_600_000),
    'maxMarginMs',
    '`jitterMs` to 3600000',
    resolved.maxMarginMs,
  );
  check(
    between(resolved.marginHalfLife, 1, 1e9),
    'marginHalfLife',
    'from 1 to 1000000000',
    resolved.marginHalfLife,
  );
  check(
    Number.isInteger(resolved.maxBatch) && between(resolved.maxBatch, 1, 100_000),
    'maxBatch',
    'a whole number from 1 to 100000',
    resolved.maxBatch,
  );
  check(
    Number.isInteger(resolved.maxBurstBatch) &&
      between(resolved.maxBurstBatch, resolved.maxBatch, 100_000),
    'maxBurstBatch',
    'a whole number from `maxBatch` to 100000',
    resolved.maxBurstBatch,
  );
  check(
    between(resolved.maxLatenessMs, 0, 10_000),
    'maxLatenessMs',
    'from 0 to 10000',
    resolved.maxLatenessMs,
  );
  check(
    between(resolved.decreaseFactor, 0.01, 1),
    'decreaseFactor',
    'a number in [0.01, 1]',
    resolved.decreaseFactor,
  );
  check(
    between(resolved.minRateFactor, 0.01, 1),
    'minRateFactor',
    'a number in [0.01, 1]',
    resolved.minRateFactor,
  );
  check(
    between(resolved.recoveryPerSecond, 0, 1),
    'recoveryPerSecond',
    'a number in [0, 1]',
    resolved.recoveryPerSecond,
  );
  check(
    between(resolved.backoffBaseMs, 1, 3_600_000),
    'backoffBaseMs',
    'from 1 to 3600000',
    resolved.backoffBaseMs,
  );
  check(
    between(resolved.backoffMaxMs, resolved.backoffBaseMs, 3_600_000),
    'backoffMaxMs',
    '`backoffBaseMs` to 3600000',
    resolved.backoffMaxMs,
  );
  check(
    between(resolved.maxPauseMs, 1, 86_400_000),
    'maxPauseMs',
    'from 1 to 86400000',
    resolved.maxPauseMs,
  );
  check(
    between(resolved.serverLimitTtlMs, 1000, 86_400_000),
    'serverLimitTtlMs',
    'from 1000 to 86400000',
    resolved.serverLimitTtlMs,
  );
  return resolved;
}

/**
 * Width (ms) of the buckets grants are merged into in a window's list: a five-hundredth of
 * the window, at least 1 ms. A merged grant is counted until the newest grant of its bucket
 * leaves the window, so a bucket costs at most its width of waiting (0.2 %) and bounds the
 * list to about 500 entries.
 */
export function bucketMs(limit: RateLimitSpec): number {
  return Math.max(1, limit.durationMs / 500);
}
