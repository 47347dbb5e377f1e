/**
 * Sliding-window rate limit per account, as SignalWire applies it to POST/PUT/PATCH; an
 * account may have several windows at once (`WindowSet`: a request is allowed only if
 * every window has room, and is then counted in each).
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

/** One limit, or several windows kept at once (`[13800/10s, 2000/1s]`). */
export type MockRateLimit = RateLimitSpec | RateLimitSpec[];

/**
 * Several sliding windows at once: a request is counted only if every window has room.
 * Its state (for the headers) is that of the window with the least room left.
 */
export class WindowSet {
  private readonly windows: SlidingWindow[];

  constructor(limit: MockRateLimit) {
    this.windows = (Array.isArray(limit) ? limit : [limit]).map((l) => new SlidingWindow(l));
  }

  tryAcquire(now: number): boolean {
    if (this.windows.length === 1) return (this.windows[0] as SlidingWindow).tryAcquire(now);
    if (this.windows.some((w) => w.state(now).remaining <= 0)) return false;
    for (const w of this.windows) w.tryAcquire(now);
    return true;
  }

  state(now: number): WindowState {
    let best: WindowState | undefined;
    for (const w of this.windows) {
      const s = w.state(now);
      if (
        !best ||
        s.retryAfterMs > best.retryAfterMs ||
        (s.retryAfterMs === best.retryAfterMs && s.remaining < best.remaining)
      )
        best = s;
    }
    return best as WindowState;
  }
}

/** The windows of every account, under one default limit and optional per-account ones. */
export class AccountRateLimits {
  private readonly windows = new Map<string, WindowSet>();
  private readonly overrides = new Map<string, MockRateLimit | null>();

  constructor(private defaultLimit: MockRateLimit | null) {}

  /** The limit that applies to `accountSid`; null when unlimited. */
  limitOf(accountSid: string): MockRateLimit | null {
    return this.overrides.has(accountSid)
      ? (this.overrides.get(accountSid) ?? null)
      : this.defaultLimit;
  }

  /**
   * Sets the default limit (no `accountSid`) or one account's. Every affected window
   * starts empty, as after a configuration change on the real service.
   */
  set(limit: MockRateLimit | null, accountSid?: string): void {
    if (accountSid === undefined) {
      this.defaultLimit = limit;
      this.windows.clear();
      return;
    }
    this.overrides.set(accountSid, limit);
    this.windows.delete(accountSid);
  }

  /** The window of `accountSid`, or undefined when the account is not limited. */
  window(accountSid: string): WindowSet | undefined {
    let window = this.windows.get(accountSid);
    if (window) return window;
    const limit = this.limitOf(accountSid);
    if (!limit) return undefined;
    window = new WindowSet(limit);
    this.windows.set(accountSid, window);
    return window;
  }

  /** Default and per-account limits, for the control API. */
  snapshot(): { default: MockRateLimit | null; accounts: Record<string, MockRateLimit | null> } {
    return { default: this.defaultLimit, accounts: Object.fromEntries(this.overrides) };
  }
}
