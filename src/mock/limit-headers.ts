/**
 * The rate-limit headers of the mock's answers. By default they are what SignalWire
 * documents: the current limit and the remaining requests in `X-` headers
 * (`X-RateLimit-Limit`, `X-RateLimit-Remaining`), on every answer of a limited account, a
 * 429 included. What SignalWire does not document (`Retry-After`, a reset time, a 429
 * with no header at all) is available through options, so clients can be tested against
 * each.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { HeadersOn429, RateLimitResetFormat, RetryAfterFormat } from './options.js';
import type { WindowState } from './rate-window.js';

export interface LimitHeaderOptions {
  retryAfter: RetryAfterFormat;
  rateLimitReset: RateLimitResetFormat;
  headersOn429: HeadersOn429;
}

function retryAfterHeader(format: RetryAfterFormat, ms: number): OutgoingHttpHeaders {
  if (format === 'none') return {};
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (format === 'seconds') return { 'Retry-After': String(seconds) };
  return { 'Retry-After': new Date(Date.now() + seconds * 1000).toUTCString() };
}

/**
 * `X-RateLimit-Limit` and `-Remaining`; with `rateLimitReset: 'epoch-seconds'` also
 * `X-RateLimit-Reset` in epoch seconds with milliseconds (`1764224400.123`), rounded up to
 * the millisecond so a client never comes back early: when the oldest counted request
 * leaves the window. Whole seconds would say "up to a second from now" at a sliding
 * window's limit, where the next slot frees within milliseconds.
 */
export function windowHeaders(
  state: WindowState,
  options: LimitHeaderOptions,
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'X-RateLimit-Limit': String(state.limit),
    'X-RateLimit-Remaining': String(state.remaining),
  };
  if (options.rateLimitReset === 'epoch-seconds') {
    const resetMs = Math.ceil(performance.timeOrigin + state.resetAt);
    headers['X-RateLimit-Reset'] = (resetMs / 1000).toFixed(3);
  }
  return headers;
}

/** Headers of a 429 that a client may come back after `waitMs`; `state` when the account is limited. */
export function rejectionHeaders(
  state: WindowState | undefined,
  waitMs: number,
  options: LimitHeaderOptions,
): OutgoingHttpHeaders {
  if (options.headersOn429 === 'none') return {};
  return {
    ...(state ? windowHeaders({ ...state, remaining: 0 }, options) : {}),
    ...retryAfterHeader(options.retryAfter, waitMs),
  };
}
