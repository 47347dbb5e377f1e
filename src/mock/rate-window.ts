/**
 * Sliding-window rate limit per account, as SignalWire applies it to POST/PUT/PATCH.
 *
 * A request is allowed iff fewer than `count` requests were accepted in
 * (now - durationMs, now]. The accepted arrival times sit in a ring buffer of `count`
 * slots, oldest first, so a decision is amortised O(1): expired stamps leave from the
 * head, a new one joins at the tail, and the head tells when the next slot frees.
 * Rejected requests are not recorded, so a client hammering at the limit does not
 * push its own window further out.
 */
import type { RateLimitSpec } from '../config.js';

/** What the window looks like right after a decision, for the `X-RateLimit-*` headers. */
export interface WindowState {
  limit: number;
  remaining: number;
  /** `performance.now()` time at which the oldest counted request leaves the window (now when empty). */
  resetAt: number;
  /** Milliseconds until a slot frees; 0 when one is free now. */
  retryAfterMs: number;
}

export class SlidingWindow {
  private readonly stamps: Float64Array;
  private head = 0;
  private size = 0;

  constructor(readonly spec: RateLimitSpec) {
    this.stamps = new Float64Array(spec.count);
  }

  /** Counts a request arriving at `now` (`performance.now()` ms) if a slot is free. */
  tryAcquire(now: number): boolean {
    this.evict(now);
    if (this.size >= this.spec.count) return false;
    this.stamps[(this.head + this.size) % this.spec.count] = now;
    this.size++;
    return true;
  }

  /** The window's state at `now`, without counting anything. */
  state(now: number): WindowState {
    this.evict(now);
    const oldest = this.size > 0 ? (this.stamps[this.head] as number) : undefined;
    const resetAt = oldest === undefined ? now : oldest + this.spec.durationMs;
    return {
      limit: this.spec.count,
      remaining: this.spec.count - this.size,
      resetAt,
      retryAfterMs: this.size >= this.spec.count ? Math.max(0, resetAt - now) : 0,
    };
  }

  private evict(now: number): void {
    const horizon = now - this.spec.durationMs;
    while (this.size > 0 && (this.stamps[this.head] as number) <= horizon) {
      this.head = (this.head + 1) % this.spec.count;
      this.size--;
    }
  }
}

/** The windows of every account, under one default limit and optional per-account ones. */
export class AccountRateLimits {
  private readonly windows = new Map<string, SlidingWindow>();
  private readonly overrides = new Map<string, RateLimitSpec | null>();

  constructor(private defaultLimit: RateLimitSpec | null) {}

  /** The limit that applies to `accountSid`; null when unlimited. */
  limitOf(accountSid: string): RateLimitSpec | null {
    return this.overrides.has(accountSid)
      ? (this.overrides.get(accountSid) ?? null)
      : this.defaultLimit;
  }

  /**
   * Sets the default limit (no `accountSid`) or one account's. Every affected window
   * starts empty, as after a configuration change on the real service.
   */
  set(limit: RateLimitSpec | null, accountSid?: string): void {
    if (accountSid === undefined) {
      this.defaultLimit = limit;
      this.windows.clear();
      return;
    }
    this.overrides.set(accountSid, limit);
    this.windows.delete(accountSid);
  }

  /** The window of `accountSid`, or undefined when the account is not limited. */
  window(accountSid: string): SlidingWindow | undefined {
    let window = this.windows.get(accountSid);
    if (window) return window;
    const limit = this.limitOf(accountSid);
    if (!limit) return undefined;
    window = new SlidingWindow(limit);
    this.windows.set(accountSid, window);
    return window;
  }

  /** Default and per-account limits, for the control API. */
  snapshot(): { default: RateLimitSpec | null; accounts: Record<string, RateLimitSpec | null> } {
    return { default: this.defaultLimit, accounts: Object.fromEntries(this.overrides) };
  }
}
