/**
 * Per-space rate limiter shared by every process: an exact sliding window (or several at
 * once) kept in Redis.
 *
 * Rule: a request may start at time t only if fewer than `count` requests of the space
 * started in (t - duration - margin, t], in every configured window. With an empty window
 * the whole count goes out at once; with a backlog the windows refill as their oldest
 * grants leave, so the rate settles at count / (duration + margin).
 *
 * How:
 * - Redis keeps, per window, a list of grants (src/worker/lua/rate-limit.ts). One Lua call
 *   grants a process up to as many permits as it has callers waiting, at Redis `TIME`, in
 *   every window at once, or says when the next permit frees: up to `maxBurstBatch` (50)
 *   while every window stays at most half full, `maxBatch` (5) beyond, where the spread
 *   of one grant's writes comes close to the limit. Far below the half, a process also
 *   asks ahead for as many callers as came in the last half lateness bound (Demand): the
 *   callers of a busy process come one by one as their requests end, and would otherwise
 *   cost a call each. Grants within a five-hundredth of the window are merged into one
 *   entry stamped with the newest of them, so memory stays bounded (about 500 short
 *   entries per window) and a merged grant is only ever counted longer than its own time,
 *   never shorter.
 * - Why these lists and not a sorted set of every request: measured at 13,800/10 s
 *   (`npm run bench -- --scenario limiter-memory`, docs/benchmarks.md), a sorted set with
 *   one member per request holds the whole count (13,800 members, about 1.6 MB) and costs
 *   a ZADD per permit; the bucketed list stays under 30 KB and costs one LSET/RPUSH per
 *   reservation, for at most 0.2 % of a window's time lost to bucketing.
 * - A process uses a granted permit only within `maxLatenessMs` of its Redis time (the
 *   RedisClock maps Redis time to local time with bounds that hold); later ones are
 *   dropped, not saved up, and given back to the windows (one Lua call: they never
 *   started), so a process stalled past the bound loses no capacity and holds no permit
 *   idle for long. The margin (10 ms by default) is a time, not a fraction of the rate:
 *   every request is counted for duration + margin from its grant, room for delivery that
 *   varies before the server's count without its answer showing it.
 * - Counted until it may have arrived: a request occupies its windows at least until the
 *   latest time it may have reached the server + duration + a 2 ms slack. That is its answer
 *   minus the space's fastest round trip seen lately (FastestTrip), each round trip timed
 *   from the request's write to its connection (`permit.sent()`, undici's own signal:
 *   src/signalwire/write-signal.ts) to its answer (`permit.answered()`). The fastest round
 *   trip is what every request's latency has in common (transit both ways, the server's
 *   least processing time; a constant transit shifts every request alike and changes no
 *   window's count); what a round trip takes beyond it may have been spent before the
 *   server counted the request, and a late write (a first connection, a starved event
 *   loop, undici's queue) makes its answer that much later too. The write alone is not
 *   enough: servers take requests in late (a burst on fresh connections, the kernel
 *   having accepted them before the server; a busy server), measured up to 87 ms after the
 *   write at the mock (docs/design.md). When that time + the slack is later than the grant's
 *   stamp + the base margin, the request moves in every window to that time less the base
 *   margin plus the slack (restamp script, batched for a few ms: rate-limiter/arrivals.ts,
 *   no capacity check), so a move costs its own lateness and no margin on top; otherwise
 *   nothing moves, so an API that answers after a steady latency costs no throughput, only
 *   its latency's variation beyond the margin does.
 *   Where the write moment is unknown (a client that does not report it), the answer itself
 *   is the bound. Before the fastest round trip is trusted (its first second) a move waits
 *   until just before the request's grant would leave its windows, and is decided with what
 *   was sampled by then (arrivals.ts). A request that never left (refused, never written)
 *   gives its permit back.
 * - A margin that learns: a 429 starting a new episode while every window's own count over
 *   its duration is within its count means the server counted differently from us
 *   (delivery jitter beyond the margin, another client of the account): the space's margin
 *   doubles, up to `maxMarginMs`, logged and recorded (`confbulk_rate_limit_margin_ms`).
 *   Successes, reported by every process with its next reservation (no extra Redis call),
 *   narrow it back with a half-life of `marginHalfLife` successes, never below `jitterMs`.
 * - A 429 also pauses the whole space (Retry-After, else an adaptive backoff doubling per
 *   consecutive episode) and lowers every window's count by `decreaseFactor`, recovering
 *   linearly; 429s answered during a pause belong to requests sent before it and start no
 *   episode. Pauses are announced on pub/sub so that other processes drop held permits.
 * - Headers (server-headers.ts): a lower server limit is adopted for the window it fits;
 *   `remaining: 0` pauses until the reset only when the server counts a far lower limit
 *   (another, longer window).
 */
import { performance } from 'node:perf_hooks';
import type { RedisConnection } from '../queues.js';
import { silentLogger, type Logger } from '../logger.js';
import type { RateLimitInfo } from '../signalwire/types.js';
import { RateLimiterClosedError } from './rate-limiter/errors.js';
import {
  resolveOptions,
  type RateLimiterOptions,
  type ResolvedRateLimiterOptions,
} from './rate-limiter/options.js';
import { Arrivals } from './rate-limiter/arrivals.js';
import { Demand } from './rate-limiter/demand.js';
import { PermitPool } from './rate-limiter/permit-pool.js';
import { RedisClock } from './rate-limiter/redis-clock.js';
import { ServerHeaders } from './rate-limiter/server-headers.js';
import { parsePauseMessage, RateLimitStore, type Reservation } from './rate-limiter/store.js';
import type { Permit, RateLimiter, RateLimiterStats } from './rate-limiter/types.js';
import { Waiters } from './waiters.js';

export type { RateLimiterOptions } from './rate-limiter/options.js';
export type { Permit, RateLimiter, RateLimiterStats } from './rate-limiter/types.js';
export { RateLimiterClosedError, RATE_LIMITER_CLOSED_MESSAGE } from './rate-limiter/errors.js';

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

class RedisRateLimiter implements RateLimiter {
  readonly space: string;
  private readonly o: ResolvedRateLimiterOptions;
  private readonly store: RateLimitStore;
  private readonly headers: ServerHeaders;
  private readonly log: Logger;
  /** Callers waiting for a permit; each is handed it with the ms it waited. */
  private readonly waiters = new Waiters<Permit>();
  private readonly pool = new PermitPool((at, count) => this.arrivals.giveBack(at, count));
  private readonly clock = new RedisClock();
  private readonly pending = new Set<Promise<unknown>>();
  private reserving = false;
  /** Timer until the next permit may be free (window full or paused), or a retry. */
  private timer: NodeJS.Timeout | undefined;
  /** Timer that drops held permits nobody took in time (asked ahead, or left by a caller). */
  private dropTimer: NodeJS.Timeout | undefined;
  /** Delay of the last retry after a failed reservation; 0 after a success. */
  private retryDelay = 0;
  private closed = false;
  /** What becomes of granted permits: given back, or moved when they arrived late. */
  private readonly arrivals: Arrivals;
  /** Successes not reported to Redis yet. */
  private successes = 0;
  /** Permits handed out lately, asked for ahead while a window is far from its half. */
  private readonly demand: Demand;
  /** Room below the fullest window's half after the last grant. */
  private halfRoom = 0;
  private counts = {
    granted: 0,
    reserved: 0,
    reserveCalls: 0,
    fullReplies: 0,
    redisCalls: 0,
  };
  private seen = { factor: 1, pausedUntil: 0, streak: 0, marginMs: 0 };
  /** Local (performance.now) time until which the space is known to be paused. */
  private localPausedUntil = 0;
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
    this.demand = new Demand(this.o.maxLatenessMs / 2);
    this.arrivals = new Arrivals({
      store: this.store,
      clock: this.clock,
      jitterMs: this.o.jitterMs,
      shortestMs: Math.min(...this.o.limits.map((l) => l.durationMs)),
      call: (promise) => this.call(promise),
      onReturned: () => this.pump(),
      isClosed: () => this.closed,
    });
    this.headers = new ServerHeaders(this.o, this.log);
    this.seen.marginMs = this.o.jitterMs;
    this.o.metrics?.rateLimitMargin.set({ space: this.space }, this.o.jitterMs);
    if (this.o.subscriber) this.subscribe(this.o.subscriber);
  }

  acquire(signal?: AbortSignal): Promise<number> {
    return this.take(signal).then((p) => p.waitedMs);
  }

  take(signal?: AbortSignal): Promise<Permit> {
    if (this.closed) return Promise.reject(new RateLimiterClosedError(this.space));
    const waiting = this.waiters.wait(signal);
    this.pump();
    return waiting;
  }

  async onRateLimited(retryAfterMs?: number): Promise<void> {
    this.o.metrics?.rateLimited.inc({ space: this.space });
    if (this.closed) return;
    const retry =
      retryAfterMs === undefined
        ? undefined
        : Math.min(Math.max(retryAfterMs, 0), this.o.maxPauseMs);
    const now = performance.now();
    // Already paused: this answer belongs to a request sent before the pause.
    if (now < this.localPausedUntil && now + (retry ?? 0) <= this.localPausedUntil) return;
    this.pauseLocally(now + (retry ?? this.o.backoffBaseMs));
    const r = await this.call(this.store.rateLimited(retry));
    if (!r) return;
    this.learnPause(r.pausedUntil, r.nowMs, performance.now());
    this.seen.factor = r.factor;
    this.seen.streak = r.streak;
    this.learnMargin(r.marginMs);
    if (r.widened) this.o.metrics?.rateLimitMarginWidened.inc({ space: this.space });
    if (r.newEpisode) {
      this.log.warn(
        {
          pauseMs: Math.round(r.pausedUntil - r.nowMs),
          rateFactor: r.factor,
          streak: r.streak,
          ...(r.widened && { marginMs: Math.round(r.marginMs) }),
        },
        r.widened
          ? 'rate limited (429) while within the limit by our own counts: pausing the space and widening its margin'
          : 'rate limited (429): pausing the space and slowing it down',
      );
    }
    this.pump();
  }

  async observe(info: RateLimitInfo): Promise<void> {
    if (this.closed) return;
    const now = performance.now();
    const change = this.headers.learn(info, now, this.localPausedUntil);
    if (!change) return;
    if (change.pauseMs >= 0) this.pauseLocally(now + change.pauseMs);
    const r = await this.call(
      this.store.observe(change.pauseMs, change.serverCount, change.windowMs),
    );
    if (r) this.learnPause(r.pausedUntil, r.nowMs, performance.now());
    this.pump();
  }

  onSuccess(): void {
    this.successes += 1;
  }

  stats(): RateLimiterStats {
    return {
      ...this.counts,
      ...this.arrivals.counts,
      fastestTripMs: this.arrivals.fastestTripMs(),
      dropped: this.pool.dropped,
      waiting: this.waiters.size,
      rateFactor: this.seen.factor,
      marginMs: this.seen.marginMs,
      pausedUntil: this.seen.pausedUntil,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.dropTimer);
    this.waiters.rejectAll(new RateLimiterClosedError(this.space));
    this.pool.clear();
    this.arrivals.flush();
    const sub = this.o.subscriber;
    if (sub) {
      sub.removeListener('message', this.onMessage);
      await sub.unsubscribe(this.store.channel).catch(() => undefined);
    }
    await Promise.allSettled([...this.pending]);
    this.log.info({ stats: this.stats() }, 'rate limiter closed');
  }

  /** Hands held permits to waiters in FIFO order, then reserves for the rest. */
  private pump(): void {
    if (this.closed) return;
    const now = performance.now();
    let at: number | undefined;
    this.waiters.resolveWhile(
      () => (at = this.pool.take(now)) !== undefined,
      (since) => this.granted(now, now - since, at as number),
    );
    this.pool.dropLate(now);
    this.dropWhenLate(now);
    this.reserveIfNeeded();
  }

  /** Held permits with no caller go back once their time to be used is over. */
  private dropWhenLate(now: number): void {
    const deadline = this.pool.nextDeadline;
    if (deadline === undefined || this.dropTimer) return;
    this.dropTimer = setTimeout(
      () => {
        this.dropTimer = undefined;
        this.pump();
      },
      Math.max(1, Math.ceil(deadline - now) + 1),
    );
  }

  private granted(now: number, waitedMs: number, at: number): Permit {
    this.counts.granted += 1;
    this.demand.note(now);
    this.o.metrics?.rateLimitWait.observe({ space: this.space }, waitedMs / 1000);
    return this.arrivals.permit(waitedMs, at, () => {
      this.counts.granted -= 1;
    });
  }

  /** One reservation at a time, for the waiters the held permits do not cover. */
  private reserveIfNeeded(): void {
    if (this.reserving || this.timer) return;
    const uncovered = this.waiters.size - this.pool.size;
    if (uncovered <= 0) return;
    // Far below a window's half, also for the callers the next half lateness bound is
    // likely to bring (as many as came in the last one): held permits serve them without a
    // call, and those nobody takes in time go back.
    const ahead =
      this.halfRoom >= this.o.maxBurstBatch ? Math.floor(this.demand.recent(performance.now())) : 0;
    const n = Math.min(uncovered + ahead, this.o.maxBurstBatch);
    const successes = this.successes;
    this.successes = 0;
    this.reserving = true;
    this.counts.reserveCalls += 1;
    const before = performance.now();
    void this.track(this.store.reserve(n, successes)).then(
      (r) => this.onReserved(r, before),
      (err: unknown) => this.onReserveFailed(err, successes),
    );
  }

  private onReserved(r: Reservation, before: number): void {
    this.reserving = false;
    this.retryDelay = 0;
    if (this.closed) return;
    const after = performance.now();
    this.clock.sample(r.nowMs, before, after);
    this.counts.reserved += r.granted;
    this.halfRoom = r.halfRoom;
    this.seen.factor = r.factor;
    this.seen.streak = r.streak;
    this.learnMargin(r.marginMs);
    this.learnPause(r.pausedUntil, r.nowMs, after);
    const deadline = this.clock.toLocal(r.nowMs).notAfter + this.o.maxLatenessMs;
    this.pool.add(r.granted, deadline, r.nowMs, after);
    if (r.retryInMs >= 0) {
      // A window is full (or the space paused): come back when a permit frees, not before.
      this.counts.fullReplies += 1;
      const at = this.clock.toLocal(r.nowMs + r.retryInMs).notBefore;
      this.wakeAt(Math.max(0, at - after));
    }
    this.pump();
  }

  private onReserveFailed(err: unknown, successes: number): void {
    this.reserving = false;
    this.successes += successes;
    if (this.closed) return;
    const delay = Math.min(Math.max(this.retryDelay * 2, RETRY_MIN_MS), RETRY_MAX_MS);
    this.log.warn({ err, retryInMs: delay }, 'reserving rate-limit permits failed; retrying');
    this.retryDelay = delay;
    this.wakeAt(delay);
  }

  /**
   * Pumps again after `ms`. Timers have 1 ms granularity and may fire early (libuv's
   * cached clock); an early wake-up costs one reservation that grants nothing.
   */
  private wakeAt(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.max(1, Math.ceil(ms)),
    );
  }

  private learnMargin(marginMs: number): void {
    if (marginMs === this.seen.marginMs) return;
    this.seen.marginMs = marginMs;
    this.o.metrics?.rateLimitMargin.set({ space: this.space }, marginMs);
  }

  /** A pause known before Redis replied: only spares further Redis calls about it. */
  private pauseLocally(until: number): void {
    if (until > this.localPausedUntil) this.localPausedUntil = until;
  }

  /** A pause in Redis time: voids held permits granted before its end. */
  private learnPause(pausedUntil: number, redisNow: number, localNow: number): void {
    if (pausedUntil > this.seen.pausedUntil) {
      this.seen.pausedUntil = pausedUntil;
      this.pool.dropBefore(pausedUntil);
    }
    this.pauseLocally(localNow + (pausedUntil - redisNow));
  }

  private onPauseMessage(message: string): void {
    const pause = parsePauseMessage(message);
    if (!pause || this.closed) return;
    this.learnPause(pause.pausedUntil, pause.nowMs, performance.now());
    this.pump();
  }

  private subscribe(sub: RedisConnection): void {
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

/** Creates the rate limiter of one space. @throws TypeError naming a bad option. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  return new RedisRateLimiter(options);
}
