/**
 * Admission of Compatibility API requests against the account's sliding window and the
 * forced-429 fault, with the rate-limit headers every authenticated answer carries.
 * POST/PUT/PATCH are counted at arrival; GET and DELETE are never limited, but report
 * the window too.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FaultInjector } from './faults.js';
import { rejectionHeaders, windowHeaders, type LimitHeaderOptions } from './limit-headers.js';
import type { AccountRateLimits } from './rate-window.js';
import type { MockCounters } from './request-log.js';
import { ErrorCode, errorAnswer, type ApiAnswer } from './responses.js';

export interface Admission {
  /** `X-RateLimit-*` (when the account is limited) and, on a 429, what limit-headers.ts adds. */
  headers: OutgoingHttpHeaders;
  /** The 429 answer when the request is over the limit. */
  reject?: ApiAnswer;
}

const COUNTED_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** Whether the API's rate limit counts requests of `method`. */
export function isCounted(method: string): boolean {
  return COUNTED_METHODS.has(method);
}

export class RateLimitGate {
  constructor(
    private readonly rateLimits: AccountRateLimits,
    private readonly faults: FaultInjector,
    private readonly headerOptions: LimitHeaderOptions,
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
          headers: rejectionHeaders(current, waitMs, this.headerOptions),
          reject: errorAnswer(429, ErrorCode.tooManyRequests, 'Too Many Requests'),
        };
      }
      this.counters().acceptedPosts++;
    }
    return { headers: window ? windowHeaders(window.state(now), this.headerOptions) : {} };
  }
}
