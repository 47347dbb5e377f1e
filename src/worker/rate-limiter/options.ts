/**
 * Options of the per-space rate limiter, their defaults and their checks.
 */
import type { Redis } from 'ioredis';
import type { RateLimitSpec } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';

export interface RateLimiterOptions {
  /** Connection for the limiter's scripts. Shared with other users; not closed by `close()`. */
  redis: Redis;
  /**
   * Optional connection in subscriber mode. With it, a pause started by any process (429,
   * exhausted headers) also drops the permits other processes had already reserved inside
   * the pause; without it they learn of the pause at their next reservation, which is at
   * most a few batches (`maxBatchMs`) away. Shared; not closed by `close()`.
   */
  subscriber?: Redis;
  /** Key prefix, a hash tag such as `{confbulk}`. */
  prefix: string;
  /** Space profile name; every process limiting this space shares one schedule. */
  space: string;
  /** `count` requests per `durationMs`, never exceeded in any sliding window. */
  limit: RateLimitSpec;
  /**
   * Jitter budget in ms: how much later than its slot, compared with other requests, a
   * request may reach the server. It covers this process granting a permit late
   * (`maxLatenessMs`) and the delivery after the grant (the event loop and HTTP client, the
   * network, the server's own scheduling). A request delayed more than the ones after it is
   * counted in the same server window as they are; the schedule leaves room for that:
   * slots are `(durationMs + jitterMs) / count` apart, which costs
   * `jitterMs / (durationMs + jitterMs)` of the rate (2.4 % of 1380/1s, 0.25 % of
   * 13800/10s at the default).
   * @defaultValue 25
   */
  jitterMs?: number;
  /**
   * Longest delay after its slot at which this process still grants a permit; later ones
   * are dropped, never saved up (a backlog of late permits would go out as a burst). The
   * limiter's own share of `jitterMs`, which it enforces; the rest is left for delivery.
   * A larger value widens the margin to it.
   * @defaultValue 40 % of `jitterMs`, at least 2 (10 ms at the default)
   */
  maxLatenessMs?: number;
  /**
   * A further fraction of the rate left unused on top of the margin for lateness and jitter
   * (1 = none).
   * @defaultValue 1
   */
  safety?: number;
  /**
   * Most time, in ms of the schedule, one reservation may cover. Larger batches cost fewer
   * Redis calls; smaller ones let a process see rate changes and pauses sooner.
   * @defaultValue 50
   */
  maxBatchMs?: number;
  /**
   * Multiplicative decrease of the rate on a 429 that starts a new episode. Small, because
   * the schedule is already within the limit and a 429 means a few requests too many in one
   * window (delivery jitter beyond `jitterMs`), not a rate far too high; repeated episodes
   * compound.
   * @defaultValue 0.97
   */
  decreaseFactor?: number;
  /**
   * Lowest rate, as a fraction of the configured one.
   * @defaultValue 0.1
   */
  minRateFactor?: number;
  /**
   * Additive recovery of the rate per second without 429s, as a fraction of the
   * configured rate, counted from the end of the episode's pause (one episode's 3 % come
   * back within 1.5 s).
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
  /** Records `rateLimitWait` and `rateLimited` under the label `space`. */
  metrics?: Pick<Metrics, 'rateLimitWait' | 'rateLimited'>;
}

/** Share of the jitter budget the limiter takes for granting late, by default. */
const LATENESS_SHARE = 0.4;
/**
 * Least default lateness: timers have 1 ms granularity and the Redis clock mapping some
 * uncertainty, so a tighter window of use would drop most permits.
 */
const MIN_LATENESS_MS = 2;

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
  const { limit } = options;
  const jitterMs = options.jitterMs ?? 25;
  check(
    Number.isInteger(limit?.count) && limit.count >= 1,
    'limit.count',
    'a whole number >= 1',
    limit?.count,
  );
  check(
    between(limit.durationMs, 1, 86_400_000),
    'limit.durationMs',
    'from 1 to 86400000',
    limit.durationMs,
  );
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
    maxLatenessMs: options.maxLatenessMs ?? Math.max(MIN_LATENESS_MS, jitterMs * LATENESS_SHARE),
    safety: options.safety ?? 1,
    maxBatchMs: options.maxBatchMs ?? 50,
    decreaseFactor: options.decreaseFactor ?? 0.97,
    minRateFactor: options.minRateFactor ?? 0.1,
    recoveryPerSecond: options.recoveryPerSecond ?? 0.02,
    backoffBaseMs: options.backoffBaseMs ?? 250,
    backoffMaxMs: options.backoffMaxMs ?? 10_000,
    maxPauseMs: options.maxPauseMs ?? 60_000,
    serverLimitTtlMs: options.serverLimitTtlMs ?? 600_000,
  };
  check(between(resolved.safety, 0.01, 1), 'safety', 'a number in [0.01, 1]', resolved.safety);
  check(between(resolved.jitterMs, 0, 60_000), 'jitterMs', 'from 0 to 60000', resolved.jitterMs);
  check(
    between(resolved.maxBatchMs, 1, 10_000),
    'maxBatchMs',
    'from 1 to 10000',
    resolved.maxBatchMs,
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

/** Room the schedule leaves per window for late grants and delivery (ms). */
export function marginMs(
  o: Pick<ResolvedRateLimiterOptions, 'jitterMs' | 'maxLatenessMs'>,
): number {
  return Math.max(o.jitterMs, o.maxLatenessMs);
}
