/**
 * The Redis side of the rate limiter: the space's shared schedule and what all processes
 * have learnt about the server (pauses, rate factor, a lower server limit).
 */
import type { Redis } from 'ioredis';
import { dataKey } from '../../queues.js';
import { num } from '../lua/script.js';
import {
  observeScript,
  rateLimitedScript,
  reserveScript,
  succeededScript,
} from '../lua/rate-limit.js';
import { marginMs, type ResolvedRateLimiterOptions } from './options.js';

/** Keep a space's state this long (ms) after its last slot or pause. */
const STATE_TTL_MS = 3_600_000;

export interface Reservation {
  /** Delay of the first slot after the script's `now` (ms). */
  delayMs: number;
  /** Distance between slots (ms). */
  intervalMs: number;
  /** Redis time when the script ran (epoch ms). */
  nowMs: number;
  /** Redis time before which no slot starts (epoch ms; 0 when never paused). */
  pausedUntil: number;
  /** Rate factor in force, 1 = the configured rate. */
  factor: number;
  /** Consecutive 429 episodes not yet ended by a success. */
  streak: number;
}

export interface PauseState {
  /** Redis time (epoch ms) until which the space is paused. */
  pausedUntil: number;
  /** Redis time (epoch ms) when the script ran. */
  nowMs: number;
}

export interface RateLimitedResult extends PauseState {
  factor: number;
  streak: number;
  /** True when this 429 started a new episode (the others came from requests sent earlier). */
  newEpisode: boolean;
}

export class RateLimitStore {
  readonly key: string;
  /** Pub/sub channel on which pauses are announced. */
  readonly channel: string;

  constructor(
    private readonly redis: Redis,
    private readonly options: ResolvedRateLimiterOptions,
  ) {
    this.key = dataKey(options.prefix, 'ratelimit', options.space);
    this.channel = dataKey(options.prefix, 'ratelimit', options.space, 'events');
  }

  async reserve(n: number): Promise<Reservation> {
    const { limit, safety, recoveryPerSecond } = this.options;
    const r = await reserveScript.run(
      this.redis,
      [this.key],
      [
        n,
        limit.count,
        limit.durationMs,
        safety,
        recoveryPerSecond,
        STATE_TTL_MS,
        marginMs(this.options),
      ],
    );
    return {
      delayMs: num(r, 0),
      intervalMs: num(r, 1),
      nowMs: num(r, 2),
      pausedUntil: num(r, 3),
      factor: num(r, 4),
      streak: num(r, 5),
    };
  }

  async rateLimited(retryAfterMs: number | undefined): Promise<RateLimitedResult> {
    const o = this.options;
    const r = await rateLimitedScript.run(
      this.redis,
      [this.key],
      [
        retryAfterMs ?? -1,
        o.backoffBaseMs,
        o.backoffMaxMs,
        o.decreaseFactor,
        o.minRateFactor,
        o.recoveryPerSecond,
        STATE_TTL_MS,
        this.channel,
      ],
    );
    return {
      pausedUntil: num(r, 0),
      nowMs: num(r, 1),
      factor: num(r, 2),
      streak: num(r, 3),
      newEpisode: num(r, 4) === 1,
    };
  }

  /**
   * Records a pause of `pauseMs` from now (or none: -1) and a server count to adopt
   * (> 0), forget (0) or leave alone (-1).
   */
  async observe(pauseMs: number, serverCount: number): Promise<PauseState> {
    const r = await observeScript.run(
      this.redis,
      [this.key],
      [pauseMs, serverCount, this.options.serverLimitTtlMs, STATE_TTL_MS, this.channel],
    );
    return { pausedUntil: num(r, 0), nowMs: num(r, 1) };
  }

  async succeeded(): Promise<void> {
    await succeededScript.run(this.redis, [this.key], []);
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
