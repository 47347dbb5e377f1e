/**
 * What becomes of a permit after its grant (rate-limiter.ts has the rule): the request it
 * let through is written and answered, or it is given back unused.
 *
 * - Given back (never sent, dropped late, voided by a pause): it never started, so it
 *   leaves every window; those of one grant given back in the same turn of the event loop
 *   go in one call (return script).
 * - Answered: the request reached the server no later than its answer minus the fastest
 *   write-to-answer round trip seen lately (FastestTrip), or its answer when its write was
 *   not reported: its arrival bound. It must be counted until that bound + the duration +
 *   ARRIVAL_SLACK_MS, so where that is later than its grant's stamp + duration + the base
 *   margin, it moves in every window (restamp script, calls batched for RESTAMP_BATCH_MS)
 *   to its bound less the base margin plus the slack: the windows count every entry for
 *   duration + margin, so the move costs only the request's own lateness, not a margin on
 *   top of it (a margin widened by 429s still adds its widening).
 * - Answered before the fastest round trip is trusted (a cold start's first second): the
 *   move waits, since where a request stands in its windows matters only once its grant's
 *   entry would leave them. It is decided when the trip is trusted, or at the latest
 *   DEFER_LEAD_MS before that entry would leave the shortest window, with the fastest trip
 *   of what was sampled by then if that spans DEFERRED_WARM_UP_MS, else with the answer
 *   itself as the bound. A first burst's requests are then counted from their arrival
 *   bounds rather than their answers: the next window opens a round trip sooner.
 */
import { performance } from 'node:perf_hooks';
import { FastestTrip } from './fastest-trip.js';
import type { RedisClock } from './redis-clock.js';
import type { RateLimitStore } from './store.js';
import type { Permit } from './types.js';

/** Late requests are collected this long (ms) before they move in the windows. */
const RESTAMP_BATCH_MS = 2;
/**
 * How much earlier than its arrival bound a request may still have reached the server (ms):
 * the bound takes the fastest round trip for the part of every trip that follows the
 * server's count, and another request's part after the count can be shorter than the
 * fastest trip's by what that trip's own parts exceeded the quickest of each (measured
 * 0-1 ms at the mock, whose every trip has the same part after the count beside a varying
 * latency). A server whose trips differ more there draws 429s the margin learns from.
 */
export const ARRIVAL_SLACK_MS = 2;
/** The fastest round trip is the minimum over one to two spans of this (ms). */
const TRIP_SPAN_MS = 10_000;
/** ... and trusted this long (ms) after its first sample. */
const TRIP_WARM_UP_MS = 1000;
/**
 * A deferred move is decided with the fastest trip sampled so far if the samples span this
 * long (ms): by then the cold start's slow first trips are no longer the minimum.
 */
const DEFERRED_WARM_UP_MS = 500;
/** A deferred move is sent this long (ms) before its entry would leave its windows, at least. */
const MIN_DEFER_LEAD_MS = 20;
/** ... or this share of the shortest window, if more (room for a stalled event loop). */
const DEFER_LEAD_SHARE = 0.1;
/** Deferred moves due this soon (ms) after the one a timer fired for are decided with it. */
const DEFER_COALESCE_MS = 10;

export interface ArrivalCounts {
  /** Permits given back to the windows (they never started). */
  returned: number;
  /** Answered requests moved later in the windows. */
  restamped: number;
  /** How far (ms) they were moved, in all. */
  movedMs: number;
  /** Requests reported written to their connection. */
  sent: number;
  /** Requests answered with no write reported (the answer is their bound). */
  answeredUnsent: number;
}

export interface ArrivalsDeps {
  store: RateLimitStore;
  clock: RedisClock;
  /** The base margin (ms). */
  jitterMs: number;
  /** The shortest window's duration (ms). */
  shortestMs: number;
  /** Runs a Redis call for its effect (errors logged, never thrown). */
  call: <T>(promise: Promise<T>) => Promise<T | undefined>;
  /** Permits came back to the windows: waiters may be served. */
  onReturned: () => void;
  isClosed: () => boolean;
}

export class Arrivals {
  readonly counts: ArrivalCounts = {
    returned: 0,
    restamped: 0,
    movedMs: 0,
    sent: 0,
    answeredUnsent: 0,
  };
  /** Permits to give back, by the Redis time they were granted at. */
  private readonly returns = new Map<number, number>();
  /** Late requests to move: [grant time, time to move to, count], by both times. */
  private readonly restamps = new Map<string, [number, number, number]>();
  private readonly trips = new FastestTrip(TRIP_SPAN_MS, TRIP_WARM_UP_MS);
  private restampTimer: NodeJS.Timeout | undefined;
  private restampDue = Infinity;
  /** Answered requests whose move waits for a trusted trip: [grant time, answer, deadline]. */
  private deferred: [number, number, number][] = [];
  private deferTimer: NodeJS.Timeout | undefined;
  private deferDue = Infinity;
  private readonly deferLeadMs: number;

  constructor(private readonly d: ArrivalsDeps) {
    this.deferLeadMs = Math.max(MIN_DEFER_LEAD_MS, d.shortestMs * DEFER_LEAD_SHARE);
  }

  /**
   * The handle of a permit granted at Redis time `at`; `onGivenBack` hears when it is given
   * back unused.
   */
  permit(waitedMs: number, at: number, onGivenBack: () => void): Permit {
    let done = false;
    let writtenAt: number | undefined;
    return {
      waitedMs,
      giveBack: () => {
        if (done || writtenAt !== undefined || this.d.isClosed()) return;
        done = true;
        onGivenBack();
        this.giveBack(at, 1);
      },
      sent: () => {
        if (done || writtenAt !== undefined) return;
        writtenAt = performance.now();
        this.counts.sent += 1;
      },
      answered: () => {
        if (done || this.d.isClosed()) return;
        done = true;
        this.arrivedBy(at, writtenAt);
      },
    };
  }

  /** The fastest round trip trusted now (ms; 0 when none yet). */
  fastestTripMs(): number {
    return this.trips.get(performance.now());
  }

  /** Sends what is collected now (at close), deciding every deferred move. */
  flush(): void {
    this.decideDeferred(Infinity);
    this.flushReturns();
    this.flushRestamps();
  }

  /**
   * A request of the grant stamped `at` was answered now, after being written at local
   * time `writtenAt` (undefined: unknown). It reached the server no later than now minus
   * the fastest round trip (which this one joins): counted until then + the slack + the
   * duration, it keeps its stamp where the base margin already covers that, else moves.
   */
  private arrivedBy(at: number, writtenAt: number | undefined): void {
    const now = performance.now();
    if (writtenAt === undefined) {
      this.counts.answeredUnsent += 1;
      this.arrivedNoLaterThan(at, now);
      return;
    }
    this.trips.add(now - writtenAt, now);
    const fastest = this.trips.get(now);
    if (fastest > 0) {
      if (this.deferred.length > 0) this.decideDeferred(Infinity);
      this.arrivedNoLaterThan(at, now - fastest);
      return;
    }
    const deadline = this.leavesAt(at) - this.deferLeadMs;
    this.deferred.push([at, now, deadline]);
    if (deadline < this.deferDue) this.armDeferTimer(deadline, now);
  }

  /** Earliest local time the grant stamped `at` may leave the shortest window. */
  private leavesAt(at: number): number {
    return this.d.clock.toLocal(at + this.d.shortestMs + this.d.jitterMs).notAfter;
  }

  private armDeferTimer(deadline: number, now: number): void {
    clearTimeout(this.deferTimer);
    this.deferDue = deadline;
    this.deferTimer = setTimeout(() => this.onDeferTimer(), deadline - now);
  }

  /** A request of the grant stamped `at` reached the server by local time `by`. */
  private arrivedNoLaterThan(at: number, by: number): void {
    const to = this.d.clock.toRedisNotAfter(by) + ARRIVAL_SLACK_MS - this.d.jitterMs;
    if (to <= at) return;
    this.counts.movedMs += to - at;
    this.restamp(at, to);
  }

  /** Decides the moves due, and those due within DEFER_COALESCE_MS (one timer for them). */
  private onDeferTimer(): void {
    this.deferTimer = undefined;
    this.deferDue = Infinity;
    const now = performance.now();
    this.decideDeferred(now + DEFER_COALESCE_MS);
    if (this.deferred.length === 0 || this.d.isClosed()) return;
    let next = Infinity;
    for (const [, , deadline] of this.deferred) next = Math.min(next, deadline);
    this.armDeferTimer(next, now);
  }

  /**
   * Decides the deferred moves due by local time `until` (all with Infinity): with the
   * trusted fastest trip, or one sampled for DEFERRED_WARM_UP_MS, else their answers.
   */
  private decideDeferred(until: number): void {
    const now = performance.now();
    const fastest = this.trips.get(now, DEFERRED_WARM_UP_MS);
    const waiting: [number, number, number][] = [];
    for (const move of this.deferred) {
      if (move[2] > until) waiting.push(move);
      else this.arrivedNoLaterThan(move[0], move[1] - fastest);
    }
    this.deferred = waiting;
    if (this.deferred.length === 0 && this.deferTimer) {
      clearTimeout(this.deferTimer);
      this.deferTimer = undefined;
      this.deferDue = Infinity;
    }
  }

  /**
   * Unused permits go back to the windows: they never started. Those of one grant given
   * back in the same turn of the event loop go in one call.
   */
  giveBack(at: number, count: number): void {
    const first = this.returns.size === 0;
    this.returns.set(at, (this.returns.get(at) ?? 0) + count);
    if (first) queueMicrotask(() => this.flushReturns());
  }

  private flushReturns(): void {
    const returns = [...this.returns];
    this.returns.clear();
    for (const [at, n] of returns) {
      void this.d.call(this.d.store.giveBack(at, n)).then((back) => {
        this.counts.returned += back ?? 0;
        if (back) this.d.onReturned();
      });
    }
  }

  /**
   * Late requests of the next RESTAMP_BATCH_MS go in one call (where a request stands
   * matters only once its grant's entry would leave its windows), sooner when an entry
   * would leave before that.
   */
  private restamp(at: number, to: number): void {
    const key = `${at} ${Math.ceil(to)}`;
    const move = this.restamps.get(key);
    if (move) move[2] += 1;
    else this.restamps.set(key, [at, Math.ceil(to), 1]);
    const now = performance.now();
    const due = Math.min(now + RESTAMP_BATCH_MS, this.leavesAt(at) - MIN_DEFER_LEAD_MS);
    if (due >= this.restampDue) return;
    clearTimeout(this.restampTimer);
    this.restampDue = due;
    this.restampTimer = setTimeout(() => this.flushRestamps(), due - now);
  }

  private flushRestamps(): void {
    clearTimeout(this.restampTimer);
    this.restampTimer = undefined;
    this.restampDue = Infinity;
    if (this.restamps.size === 0) return;
    const moves = [...this.restamps.values()];
    this.restamps.clear();
    void this.d.call(this.d.store.restamp(moves)).then((moved) => {
      this.counts.restamped += moved ?? 0;
    });
  }
}
