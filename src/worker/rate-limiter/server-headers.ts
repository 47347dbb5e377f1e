/**
 * What a response's rate-limit headers tell the limiter, decided in process so that Redis
 * is touched only when something changes:
 * - a server `limit` below every configured window's count (but not far below the
 *   smallest) is adopted for the window of the smallest count, for `serverLimitTtlMs`
 *   (renewed when seen again at half of it). A `limit` at or above some window's count is
 *   that window's (the server reports the window with the least room): nothing to learn;
 * - a `limit` far below every window's count (under `minRateFactor` of the smallest) must
 *   count another, longer window: it is not adopted, and its `remaining: 0` pauses the
 *   space until the reset. At or near our own counts, `remaining: 0` is only what a
 *   sliding window looks like at its limit: no pause.
 */
import type { Logger } from '../../logger.js';
import type { RateLimitInfo } from '../../signalwire/types.js';
import type { ResolvedRateLimiterOptions } from './options.js';

export interface HeaderChange {
  /** Pause for this many ms from now, or -1. */
  pauseMs: number;
  /** Server count to adopt (> 0), to forget (0), or -1 to leave it. */
  serverCount: number;
  /** Duration of the window the server count applies to (ms). */
  windowMs: number;
}

export class ServerHeaders {
  private serverCount: number | undefined;
  private sentAt = -Infinity;
  private warned = false;
  private readonly smallest: number;
  /** Windows by count, smallest first. */
  private readonly byCount;

  constructor(
    private readonly o: ResolvedRateLimiterOptions,
    private readonly log: Logger,
  ) {
    this.byCount = [...o.limits].sort((a, b) => a.count - b.count);
    this.smallest = this.byCount[0]?.count ?? 1;
  }

  /** The change to record, or undefined when these headers teach nothing new. */
  learn(info: RateLimitInfo, now: number, pausedUntil: number): HeaderChange | undefined {
    const limit = info.limit;
    if (limit === undefined || !Number.isFinite(limit) || limit < 1) return undefined;
    const count = Math.floor(limit);
    const pauseMs = this.pauseFrom(info, count, now, pausedUntil);
    const { serverCount, windowMs } = this.serverCountFrom(count, now);
    if (pauseMs < 0 && serverCount < 0) return undefined;
    if (serverCount >= 0) {
      this.serverCount = serverCount > 0 ? serverCount : undefined;
      this.sentAt = now;
      this.log.info({ serverCount, windowMs }, 'server limit learnt from headers');
    }
    return { pauseMs, serverCount, windowMs };
  }

  private farBelow(count: number): boolean {
    return count < this.smallest * this.o.minRateFactor;
  }

  private pauseFrom(info: RateLimitInfo, count: number, now: number, pausedUntil: number): number {
    if (info.remaining !== 0 || info.resetAt === undefined || !this.farBelow(count)) return -1;
    const ms = Math.min(info.resetAt - Date.now(), this.o.maxPauseMs);
    return ms > 0 && now + ms > pausedUntil + 1 ? ms : -1;
  }

  private serverCountFrom(count: number, now: number): { serverCount: number; windowMs: number } {
    const none = { serverCount: -1, windowMs: 0 };
    const window = this.byCount[0];
    if (!window || count >= window.count) {
      return this.serverCount === undefined ? none : { serverCount: 0, windowMs: 0 };
    }
    if (this.farBelow(count)) {
      if (!this.warned) {
        this.warned = true;
        this.log.warn(
          { serverLimit: count, configured: this.o.limits },
          'ignoring a server limit far below the configured counts: it likely counts another window',
        );
      }
      return none;
    }
    const fresh = now - this.sentAt < this.o.serverLimitTtlMs / 2;
    return count === this.serverCount && fresh
      ? none
      : { serverCount: count, windowMs: window.durationMs };
  }
}
