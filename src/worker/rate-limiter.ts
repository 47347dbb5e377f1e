/**
 * Per-space rate limiter shared by every process: exact (no sliding window of the
 * configured duration at the server carries more than `count` requests, as long as their
 * delivery varies by no more than the jitter budget) and cheap (tens of Redis calls per
 * second per process, whatever the rate).
 *
 * How:
 * - The space's schedule is GCRA (virtual scheduling) kept in Redis with zero burst: slots
 *   T = (duration + margin) / (count x safety x rateFactor) apart, never earlier than Redis
 *   `TIME` nor than a pause, where margin = jitterMs (or maxLatenessMs if larger). A Lua
 *   script hands out `n` consecutive slots at once, so one round trip serves a whole
 *   batch, and Redis' clock is the only clock that orders slots.
 * - Each process reserves only for callers that wait and are not covered yet (a reserved
 *   permit nobody uses is lost rate), at most `maxBatchMs` of the schedule per call, and
 *   reserves the next batch when the last one starts being used, so the schedule stays
 *   booked while there is a backlog.
 * - A permit is granted within [slot, slot + maxLatenessMs], otherwise dropped, never saved
 *   up. Never early: early use would crowd the previous slots. Slots reach a process with
 *   the uncertainty of mapping Redis time to local time (RedisClock); the window of use is
 *   cut on the safe side of both ends (see PermitBook). A process stalled longer than the
 *   bound (CPU starvation, GC) loses the permits it had reserved for the stall.
 * - Exactness where it counts, at the server: a request reaches the server some time after
 *   its grant, and that time varies (this process's event loop, which on undici 7 writes a
 *   request on a reused connection only after the poll phase that follows the grant; the
 *   HTTP client; the network; the server's own event loop). Say every request arrives
 *   within [slot + a, slot + a + V] for some a. A server window (x, x + duration] then holds
 *   requests whose slots lie in (x - a - V, x + duration - a], an interval of duration + V,
 *   which holds at most ceil((duration + V) / T) slots: no more than `count` while
 *   V <= margin (safety and rateFactor <= 1 only widen T). The limiter enforces its own
 *   part of V, the lateness bound (by default 40 % of the budget), and assumes the rest
 *   for delivery; a window fuller than that is answered with a 429 (below). The margin is
 *   a time, not a fraction: 25 ms is 2.4 % of a 1 s window and 0.25 % of SignalWire's
 *   10 s one.
 * - A 429 starts an episode for the whole space: a pause (Retry-After, else an adaptive
 *   backoff doubling per consecutive episode) that the script honours, and a lower rate
 *   factor (x0.97, additive recovery from the end of the pause), both in Redis. The
 *   decrease is small because the schedule already keeps within the limit: a 429 means a
 *   few requests too many in one window (jitter beyond the budget), and the pause, not the
 *   decrease, is what the server asked for; episodes that keep coming compound it. 429s
 *   answered during a pause came from requests sent before it and do not start another
 *   episode: without that rule, the dozens of requests in flight when the server starts
 *   refusing would compound the decrease dozens of times.
 * - Headers: a server limit lower than the configured count is adopted for
 *   `serverLimitTtlMs` (longer if seen again). `remaining: 0` pauses until the reset only
 *   when the server's limit is far below the configured count (it counts another, longer
 *   window, which this schedule does not respect). At or below the server's limit it is
 *   what a sliding window looks like at the limit: full now, with its oldest request
 *   leaving by the time the next slot comes; pausing until a reset given in whole seconds
 *   cost up to a second of nothing. Both are compared with what this process already knows
 *   before touching Redis.
 *
 * Differences from the first sketch, and why: the schedule is never moved backwards (a
 * process that did not hear of a pause may still use its reserved slots, and moving TAT
 * back would hand the same time out twice); pauses are announced on pub/sub so that other
 * processes drop reserved permits inside the pause at once instead of at their next
 * reservation, comparing Redis times (exact) rather than local estimates; Redis time is
 * mapped to local time with bounds intersected over successive round trips, because a
 * busy event loop reads some replies late and one round trip alone would then leave the
 * first permits of a batch no window of use at all (at 200/s under load this alone
 * dropped 5-9% of the permits); a permit due in under a millisecond waits for a 1 ms timer
 * instead of spinning on setImmediate, which at 1,380/s burnt most of a core and starved
 * the event loop; and the margin, once a fixed fraction (0.985) that covered only the
 * limiter's own lateness, is now a time covering delivery jitter too (at 1,380/s that
 * fraction let 1-3 % too many requests into the busiest window at the server).
 */
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../logger.js';
import type { RateLimitInfo } from '../signalwire/types.js';
import { RateLimiterClosedError } from './rate-limiter/errors.js';
import {
  marginMs,
  resolveOptions,
  type RateLimiterOptions,
  type ResolvedRateLimiterOptions,
} from './rate-limiter/options.js';
import { PermitBook } from './rate-limiter/permit-book.js';
import { RedisClock } from './rate-limiter/redis-clock.js';
import { parsePauseMessage, RateLimitStore, type Reservation } from './rate-limiter/store.js';

export type { RateLimiterOptions } from './rate-limiter/options.js';
export { RateLimiterClosedError, RATE_LIMITER_CLOSED_MESSAGE } from './rate-limiter/errors.js';

export interface RateLimiterStats {
  /** Permits handed to callers. */
  granted: number;
  /** Permits reserved in Redis by this process. */
  reserved: number;
  /** Reserved permits not used in time, or voided by a pause. */
  dropped: number;
  /** Reservations (Redis round trips for permits). */
  reserveCalls: number;
  /** Redis calls of any kind made by this limiter. */
  redisCalls: number;
  /** Callers waiting for a permit now. */
  waiting: number;
  /** Rate factor last seen, 1 = the configured rate (less the margin). */
  rateFactor: number;
  /** Distance between slots of the space's schedule (ms), as last reserved or configured. */
  intervalMs: number;
  /** Redis time (epoch ms) until which the space is paused, as last seen; 0 = never paused. */
  pausedUntil: number;
  /** A lower count learned from the server's headers and in force, if any. */
  serverCount: number | undefined;
}

export interface RateLimiter {
  readonly space: string;
  /**
   * Resolves when the caller may send one request, with the ms it waited. Rejects with
   * `signal.reason` when aborted (its permit goes to the next caller or is dropped), and
   * with a RateLimiterClosedError when the limiter is closed.
   */
  acquire(signal?: AbortSignal): Promise<number>;
  /**
   * A 429 was answered: pauses the whole space for `retryAfterMs` (else an adaptive
   * backoff) and lowers its rate. Never rejects; Redis errors are logged.
   */
  onRateLimited(retryAfterMs?: number): Promise<void>;
  /** Learns from a response's rate-limit headers. Cheap when nothing changes. Never rejects. */
  observe(info: RateLimitInfo): Promise<void>;
  /** A request succeeded: ends a streak of 429 episodes (one Redis call per streak). */
  onSuccess(): void;
  stats(): RateLimiterStats;
  /** Rejects waiting callers with RateLimiterClosedError. Idempotent. */
  close(): Promise<void>;
}

interface Waiter {
  since: number;
  resolve: (waitedMs: number) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

class RedisRateLimiter implements RateLimiter {
  readonly space: string;
  private readonly o: ResolvedRateLimiterOptions;
  private readonly store: RateLimitStore;
  private readonly log: Logger;
  /** Insertion-ordered: FIFO with O(1) removal of an aborted waiter. */
  private readonly waiters = new Set<Waiter>();
  private readonly book = new PermitBook();
  private readonly clock = new RedisClock();
  private readonly pending = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private reserving = false;
  /** Delay of the last retry after a failed reservation; 0 after a success. */
  private retryDelay = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Local (performance.now) time until which the space is known to be paused. */
  private localPausedUntil = 0;
  private interval: number;
  private counts = { granted: 0, reserved: 0, reserveCalls: 0, redisCalls: 0 };
  private seen = { factor: 1, pausedUntil: 0, streak: 0 };
  private serverCount: number | undefined;
  private serverCountSentAt = -Infinity;
  private warnedLowLimit = false;
  private readonly onMessage = (channel: string, message: string): void => {
    if (channel === this.store.channel) this.onPauseMessage(message);
  };

  constructor(options: RateLimiterOptions) {
    this.o = resolveOptions(options);
    this.space = this.o.space;
    this.log = (this.o.logger ?? silentLogger).child({
      component: 'rate-limiter',
      space: this.space,
    });
    this.store = new RateLimitStore(this.o.redis, this.o);
    const { limit, safety } = this.o;
    this.interval = (limit.durationMs + marginMs(this.o)) / (limit.count * safety);
    if (this.o.subscriber) this.subscribe(this.o.subscriber);
  }

  acquire(signal?: AbortSignal): Promise<number> {
    if (this.closed) return Promise.reject(new RateLimiterClosedError(this.space));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = {
        since: performance.now(),
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal) {
        waiter.onAbort = () => {
          if (this.waiters.delete(waiter)) reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.add(waiter);
      this.pump();
    });
  }

  async onRateLimited(retryAfterMs?: number): Promise<void> {
    this.o.metrics?.rateLimited.inc({ space: this.space });
    if (this.closed) return;
    const retry =
      retryAfterMs === undefined ? undefined : clamp(retryAfterMs, 0, this.o.maxPauseMs);
    const now = performance.now();
    // Already paused: this answer belongs to a request sent before the pause.
    const until = now + (retry ?? 0);
    if (now < this.localPausedUntil && until <= this.localPausedUntil) return;
    this.pauseLocally(now + (retry ?? this.o.backoffBaseMs));
    const r = await this.call(this.store.rateLimited(retry));
    if (!r) return;
    this.learnPause(r.pausedUntil, r.nowMs, performance.now());
    this.seen.factor = r.factor;
    this.seen.streak = r.streak;
    if (r.newEpisode) {
      this.log.warn(
        { pauseMs: Math.round(r.pausedUntil - r.nowMs), rateFactor: r.factor, streak: r.streak },
        'rate limited (429): pausing the space and slowing it down',
      );
    }
    this.pump();
  }

  async observe(info: RateLimitInfo): Promise<void> {
    if (this.closed) return;
    const now = performance.now();
    const pauseMs = this.pauseFrom(info, now);
    const serverCount = this.serverCountFrom(info, now);
    if (pauseMs < 0 && serverCount < 0) return;
    if (pauseMs >= 0) this.pauseLocally(now + pauseMs);
    if (serverCount >= 0) {
      this.serverCount = serverCount > 0 ? serverCount : undefined;
      this.serverCountSentAt = now;
      this.log.info(
        { serverCount: this.serverCount ?? this.o.limit.count },
        'server limit learnt from headers',
      );
    }
    const r = await this.call(this.store.observe(pauseMs, serverCount));
    if (r) this.learnPause(r.pausedUntil, r.nowMs, performance.now());
    this.pump();
  }

  onSuccess(): void {
    if (this.seen.streak <= 0 || this.closed) return;
    this.seen.streak = 0;
    void this.call(this.store.succeeded());
  }

  stats(): RateLimiterStats {
    return {
      ...this.counts,
      dropped: this.book.dropped,
      waiting: this.waiters.size,
      rateFactor: this.seen.factor,
      intervalMs: this.interval,
      pausedUntil: this.seen.pausedUntil,
      serverCount: this.serverCount,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    clearTimeout(this.retryTimer);
    const error = new RateLimiterClosedError(this.space);
    for (const w of this.waiters) this.release(w).reject(error);
    this.book.clear();
    const sub = this.o.subscriber;
    if (sub) {
      sub.removeListener('message', this.onMessage);
      await sub.unsubscribe(this.store.channel).catch(() => undefined);
    }
    await Promise.allSettled([...this.pending]);
    this.log.info({ stats: this.stats() }, 'rate limiter closed');
  }

  /** Hands due permits to waiters in FIFO order, then arms the timer and reserves more. */
  private pump(): void {
    if (this.closed) return;
    const now = performance.now();
    for (const w of this.waiters) {
      if (!this.book.take(now)) break;
      this.grant(w, now);
    }
    this.book.dropLate(now);
    this.arm(now);
    this.reserveIfNeeded(now);
  }

  private grant(w: Waiter, now: number): void {
    this.release(w);
    this.counts.granted += 1;
    const waited = now - w.since;
    this.o.metrics?.rateLimitWait.observe({ space: this.space }, waited / 1000);
    w.resolve(waited);
  }

  private release(w: Waiter): Waiter {
    this.waiters.delete(w);
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    return w;
  }

  /**
   * One timer for the next permit. Timers have 1 ms granularity and may fire early (libuv's
   * cached clock), so a permit due in under 1 ms waits 1 ms rather than spinning: that
   * lateness is far inside the bound, and spinning would burn a core at high rates.
   */
  private arm(now: number): void {
    const at = this.waiters.size > 0 ? this.book.nextAt() : undefined;
    if (at === undefined) return this.clearTimer();
    if (this.timer && at >= this.timerAt) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(1, at - now));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.pump();
  };

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /**
   * Reserves for uncovered waiters, at most one batch at a time, and only when the permits
   * already reserved run out within one batch length (so the schedule stays booked).
   */
  private reserveIfNeeded(now: number): void {
    if (this.reserving || this.retryTimer) return;
    const uncovered = this.waiters.size - this.book.size;
    if (uncovered <= 0) return;
    const last = this.book.lastAt();
    if (last !== undefined && last - now > this.o.maxBatchMs) return;
    const n = Math.min(uncovered, Math.max(1, Math.floor(this.o.maxBatchMs / this.interval)));
    this.reserving = true;
    this.counts.reserveCalls += 1;
    const before = performance.now();
    void this.track(this.store.reserve(n)).then(
      (r) => this.onReserved(r, n, before),
      (err: unknown) => this.onReserveFailed(err),
    );
  }

  private onReserved(r: Reservation, n: number, before: number): void {
    this.reserving = false;
    this.retryDelay = 0;
    if (this.closed) return;
    const after = performance.now();
    this.counts.reserved += n;
    this.interval = r.intervalMs;
    this.seen.factor = r.factor;
    this.seen.streak = r.streak;
    const slot = r.nowMs + r.delayMs;
    this.clock.sample(r.nowMs, before, after);
    const local = this.clock.toLocal(slot, (n - 1) * r.intervalMs);
    const latest = local.notAfter + this.o.maxLatenessMs;
    this.book.add(slot, local.notBefore, latest, r.intervalMs, n);
    // A pause learnt since this reservation left may void the start of it.
    this.learnPause(r.pausedUntil, r.nowMs, after);
    this.book.dropBefore(this.seen.pausedUntil);
    this.pump();
  }

  private onReserveFailed(err: unknown): void {
    this.reserving = false;
    if (this.closed) return;
    const delay = clamp(this.retryDelay * 2, RETRY_MIN_MS, RETRY_MAX_MS);
    this.log.warn({ err, retryInMs: delay }, 'reserving rate-limit permits failed; retrying');
    this.retryDelay = delay;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
  }

  /**
   * An exhausted window of a server counting fewer requests than this schedule sends: pause
   * until its reset, when that is later than what we know. At or below the server's limit,
   * `remaining: 0` is no reason to pause (see the module comment).
   */
  private pauseFrom(info: RateLimitInfo, now: number): number {
    if (info.remaining !== 0 || info.resetAt === undefined) return -1;
    if (info.limit === undefined || !this.countsAnotherWindow(info.limit)) return -1;
    const ms = Math.min(info.resetAt - Date.now(), this.o.maxPauseMs);
    return ms > 0 && now + ms > this.localPausedUntil + 1 ? ms : -1;
  }

  /** A server limit so far below the configured count that it must count another window. */
  private countsAnotherWindow(limit: number): boolean {
    return Math.floor(limit) < this.o.limit.count * this.o.minRateFactor;
  }

  /** A server count to record (> 0), to forget (0), or nothing to do (-1). */
  private serverCountFrom(info: RateLimitInfo, now: number): number {
    const limit = info.limit;
    if (limit === undefined || !Number.isFinite(limit) || limit < 1) return -1;
    const count = Math.floor(limit);
    if (count >= this.o.limit.count) return this.serverCount === undefined ? -1 : 0;
    if (this.countsAnotherWindow(count)) {
      if (!this.warnedLowLimit) {
        this.warnedLowLimit = true;
        this.log.warn(
          { serverLimit: count, configured: this.o.limit.count },
          'ignoring a server limit far below the configured count: it likely counts another window',
        );
      }
      return -1;
    }
    const fresh = now - this.serverCountSentAt < this.o.serverLimitTtlMs / 2;
    return count === this.serverCount && fresh ? -1 : count;
  }

  /** A pause known before Redis replied: only spares further Redis calls about it. */
  private pauseLocally(until: number): void {
    if (until > this.localPausedUntil) this.localPausedUntil = until;
  }

  /**
   * A pause in Redis time: voids reserved permits by their exact slots, and keeps a local
   * estimate of its end (mapped at `localNow`) to spare Redis calls about it.
   */
  private learnPause(pausedUntil: number, redisNow: number, localNow: number): void {
    if (pausedUntil > this.seen.pausedUntil) {
      this.seen.pausedUntil = pausedUntil;
      this.book.dropBefore(pausedUntil);
    }
    const localUntil = localNow + (pausedUntil - redisNow);
    if (localUntil > this.localPausedUntil) this.localPausedUntil = localUntil;
  }

  private onPauseMessage(message: string): void {
    const pause = parsePauseMessage(message);
    if (!pause || this.closed) return;
    this.learnPause(pause.pausedUntil, pause.nowMs, performance.now());
    this.pump();
  }

  private subscribe(sub: Redis): void {
    sub.on('message', this.onMessage);
    sub.subscribe(this.store.channel).catch((err: unknown) => {
      this.log.warn(
        { err },
        'subscribing to rate-limit pauses failed; pauses spread at reservations',
      );
    });
  }

  /** Runs a Redis call for its effect; errors are logged, never thrown at callers. */
  private async call<T>(promise: Promise<T>): Promise<T | undefined> {
    try {
      return await this.track(promise);
    } catch (err) {
      if (!this.closed) this.log.warn({ err }, 'rate-limiter Redis call failed');
      return undefined;
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.counts.redisCalls += 1;
    this.pending.add(promise);
    const forget = (): void => void this.pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Creates the rate limiter of one space. @throws TypeError naming a bad option. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  return new RedisRateLimiter(options);
}
