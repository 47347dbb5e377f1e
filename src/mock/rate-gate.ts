/**
 * Admission of Compatibility API requests against the account's sliding window and the
 * forced-429 fault, with the rate-limit headers every authenticated answer carries.
 * POST/PUT/PATCH are counted at arrival; GET and DELETE are never limited, but report
 * the window too.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FaultInjector } from './faults.js';
import type { RetryAfterFormat } from './options.js';
import type { AccountRateLimits, WindowState } from './rate-window.js';
import type { MockCounters } from './request-log.js';
import { ErrorCode, errorAnswer, type ApiAnswer } from './responses.js';

export interface Admission {
  /** `X-RateLimit-*` (when the account is limited) and, on a 429, `Retry-After`. */
  headers: OutgoingHttpHeaders;
  /** The 429 answer when the request is over the limit. */
  reject?: ApiAnswer;
}

const COUNTED_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** Whether the API's rate limit counts requests of `method`. */
export function isCounted(method: string): boolean {
  return COUNTED_METHODS.has(method);
}

function retryAfterHeader(format: RetryAfterFormat, ms: number): OutgoingHttpHeaders {
  if (format === 'none') return {};
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (format === 'seconds') return { 'Retry-After': String(seconds) };
  return { 'Retry-After': new Date(Date.now() + seconds * 1000).toUTCString() };
}

/**
 * `X-RateLimit-Reset` is in epoch seconds with milliseconds (`1764224400.123`), rounded up
 * to the millisecond so a client never comes back early: when the oldest counted request
 * leaves the window. Whole seconds would say "up to a second from now" at a sliding
 * window's limit, where the next slot frees within milliseconds.
 */
function rateHeaders(state: WindowState): OutgoingHttpHeaders {
  const resetMs = Math.ceil(performance.timeOrigin + state.resetAt);
  return {
    'X-RateLimit-Limit': String(state.limit),
    'X-RateLimit-Remaining': String(state.remaining),
    'X-RateLimit-Reset': (resetMs / 1000).toFixed(3),
  };
}

export class RateLimitGate {
  constructor(
    private readonly rateLimits: AccountRateLimits,
    private readonly faults: FaultInjector,
    private readonly retryAfter: RetryAfterFormat,
    private readonly counters: () => MockCounters,
  ) {}

  /** Admits (and counts) a request of `accountSid` arriving at `now` (`performance.now()`). */
  admit(accountSid: string, method: string, now: number): Admission {
    const window = this.rateLimits.window(accountSid);
    if (isCounted(method)) {
      const forcedMs = this.faults.force429RemainingMs(now);
      if (forcedMs > 0 || (window && !window.tryAcquire(now))) {
        const current = window?.state(now);
        const waitMs = Math.max(forcedMs, current?.retryAfterMs ?? 0);
        return {
          headers: {
            ...(current ? rateHeaders({ ...current, remaining: 0 }) : {}),
            ...retryAfterHeader(this.retryAfter, waitMs),
          },
          reject: errorAnswer(429, ErrorCode.tooManyRequests, 'Too Many Requests'),
        };
      }
      this.counters().acceptedPosts++;
    }
    return { headers: window ? rateHeaders(window.state(now)) : {} };
  }
}
