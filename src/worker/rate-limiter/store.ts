/**
 * The Redis side of the rate limiter: the space's windows of grants and what all processes
 * have learnt about the server (pauses, rate factor, margin, a lower server limit). Every
 * call is one Lua script over the keys of keys.ts.
 */
import type { RedisConnection } from '../../queues.js';
import { num } from '../lua/script.js';
import {
  observeScript,
  rateLimitedScript,
  reserveScript,
  restampScript,
  returnScript,
} from '../lua/rate-limit.js';
import { limiterKeys, type LimiterKeys } from './keys.js';
import { bucketMs, type ResolvedRateLimiterOptions } from './options.js';

/** Keep a space's state (pause, factor, margin) this long (ms) after its last use. */
const STATE_TTL_MS = 3_600_000;

export interface PauseState {
  /** Redis time (epoch ms) until which the space is paused (0 when never paused). */
  pausedUntil: number;
  /** Redis time (epoch ms) when the script ran. */
  nowMs: number;
}

export interface Reservation extends PauseState {
  /** Permits granted at `nowMs`. */
  granted: number;
  /**
   * When the windows (or a pause) held fewer than asked: ms after `nowMs` until one may be
   * free; else -1, also for a grant cut short past a window's half (ask again at once).
   */
  retryInMs: number;
  /** Margin in force (ms). */
  marginMs: number;
  /** Rate factor in force, 1 = the configured counts. */
  factor: number;
  /** Consecutive 429 episodes not yet ended by a success. */
  streak: number;
  /** Permits left below the fullest window's half after this grant (negative past it). */
  halfRoom: number;
}

export interface RateLimitedResult extends PauseState {
  factor: number;
  streak: number;
  /** True when this 429 started a new episode (the others came from requests sent earlier). */
  newEpisode: boolean;
  marginMs: number;
  /** True when this 429 widened the margin. */
  widened: boolean;
}

export class RateLimitStore {
  readonly keys: LimiterKeys;
  private readonly allKeys: string[];
  private readonly windowArgs: number[];

  constructor(
    private readonly redis: RedisConnection,
    private readonly o: ResolvedRateLimiterOptions,
  ) {
    this.keys = limiterKeys(o.prefix, o.space, o.limits);
    this.allKeys = [this.keys.state, ...this.keys.windows];
    this.windowArgs = [
      o.limits.length,
      ...o.limits.flatMap((l) => [l.count, l.durationMs, bucketMs(l)]),
    ];
  }

  get channel(): string {
    return this.keys.channel;
  }

  /** Asks for `n` permits now, reporting `successes` seen since the last call. */
  async reserve(n: number, successes: number): Promise<Reservation> {
    const o = this.o;
    const r = await reserveScript.run(this.redis, this.allKeys, [
      n,
      successes,
      o.jitterMs,
      o.marginHalfLife,
      o.recoveryPerSecond,
      STATE_TTL_MS,
      o.maxBatch,
      ...this.windowArgs,
    ]);
    return {
      granted: num(r, 0),
      retryInMs: num(r, 1),
      nowMs: num(r, 2),
      pausedUntil: num(r, 3),
      marginMs: num(r, 4),
      factor: num(r, 5),
      streak: num(r, 6),
      halfRoom: num(r, 7),
    };
  }

  /** Gives back `count` unused permits granted at Redis time `at`; resolves to how many. */
  async giveBack(at: number, count: number): Promise<number> {
    const r = await returnScript.run(this.redis, this.allKeys, [
      at.toFixed(4),
      count,
      ...this.windowArgs,
    ]);
    return Number(r);
  }

  /**
   * Moves late requests, `[grant time, time to move to, count]` (Redis times), from their
   * grants' entries to those times (at most now) in every window; resolves to how many moved.
   */
  async restamp(moves: readonly (readonly [number, number, number])[]): Promise<number> {
    const r = await restampScript.run(this.redis, this.allKeys, [
      this.o.jitterMs,
      ...this.windowArgs,
      moves.length,
      ...moves.flatMap(([at, to, count]) => [at.toFixed(4), to.toFixed(4), count]),
    ]);
    return Number(r);
  }

  async rateLimited(retryAfterMs: number | undefined): Promise<RateLimitedResult> {
    const o = this.o;
    const r = await rateLimitedScript.run(this.redis, this.allKeys, [
      retryAfterMs ?? -1,
      o.backoffBaseMs,
      o.backoffMaxMs,
      o.decreaseFactor,
      o.minRateFactor,
      o.recoveryPerSecond,
      this.keys.channel,
      o.jitterMs,
      o.maxMarginMs,
      ...this.windowArgs,
    ]);
    return {
      pausedUntil: num(r, 0),
      nowMs: num(r, 1),
      factor: num(r, 2),
      streak: num(r, 3),
      newEpisode: num(r, 4) === 1,
      marginMs: num(r, 5),
      widened: num(r, 6) === 1,
    };
  }

  /**
   * Records a pause of `pauseMs` from now (or none: -1) and a server count to adopt
   * (> 0) for the window of `windowMs`, forget (0) or leave alone (-1).
   */
  async observe(pauseMs: number, serverCount: number, windowMs: number): Promise<PauseState> {
    const r = await observeScript.run(
      this.redis,
      [this.keys.state],
      [pauseMs, serverCount, windowMs, this.o.serverLimitTtlMs, STATE_TTL_MS, this.keys.channel],
    );
    return { pausedUntil: num(r, 0), nowMs: num(r, 1) };
  }
}

/** Parses a pause announcement (`pause <pausedUntil> <now>`, Redis ms). */
export function parsePauseMessage(message: string): PauseState | undefined {
  const [kind, until, now] = message.split(' ');
  const pausedUntil = Number(until);
  const nowMs = Number(now);
  if (kind !== 'pause' || !Number.isFinite(pausedUntil) || !Number.isFinite(nowMs))
    return undefined;
  return { pausedUntil, nowMs };
}
