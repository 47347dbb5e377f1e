/**
 * Rate-limit state from response headers. SignalWire sends the current limit and the
 * remaining requests in `X-` headers whose names it does not document, so any header whose
 * name contains `ratelimit` or `rate-limit` and ends in `limit`, `remaining` or `reset` is
 * read (`X-RateLimit-Remaining`, `X-Rate-Limit-Reset`, `RateLimit-Limit`, ...).
 */
import type { RateLimitInfo } from './types.js';
import { firstHeaderValue, parseHttpDate, type HeaderValue } from './retry-after.js';

type RateLimitField = keyof RateLimitInfo;

/** Response headers, e.g. undici's `IncomingHttpHeaders`. */
export type HeaderBag = Readonly<Record<string, HeaderValue>>;

/** Reset values at or above this are epoch milliseconds (year 2001 onwards). */
const EPOCH_MS_FROM = 1e12;
/** Reset values at or above this (and below EPOCH_MS_FROM) are epoch seconds; smaller ones are seconds from now. */
const EPOCH_S_FROM = 1e9;

const NAME_TOKEN = /ratelimit|rate-limit/g;
const LEADING_NUMBER = /^\s*(\d+(?:\.\d+)?)/;

/** Which rate-limit field a header carries; the suffix is looked for after the name's last `ratelimit` token. */
export function rateLimitFieldOf(name: string): RateLimitField | undefined {
  const lower = name.toLowerCase();
  let after: number | undefined;
  for (const m of lower.matchAll(NAME_TOKEN)) after = m.index + m[0].length;
  if (after === undefined) return undefined;
  const rest = lower.slice(after);
  if (rest.endsWith('remaining')) return 'remaining';
  if (rest.endsWith('reset')) return 'resetAt';
  if (rest.endsWith('limit')) return 'limit';
  return undefined;
}

/**
 * A reset value as epoch milliseconds: epoch ms, epoch seconds or seconds from now are
 * told apart by magnitude; an HTTP date is accepted too.
 */
export function normaliseReset(text: string, now: number): number | undefined {
  const m = LEADING_NUMBER.exec(text);
  if (!m?.[1]) return parseHttpDate(text);
  const value = Number(m[1]);
  if (value >= EPOCH_MS_FROM) return Math.round(value);
  if (value >= EPOCH_S_FROM) return Math.round(value * 1000);
  return now + Math.round(value * 1000);
}

function numberOf(text: string): number | undefined {
  const m = LEADING_NUMBER.exec(text);
  return m?.[1] ? Number(m[1]) : undefined;
}

/** When several headers say the same thing, the most cautious reading wins. */
function merge(info: RateLimitInfo, field: RateLimitField, value: number): void {
  const current = info[field];
  if (current === undefined) info[field] = value;
  else info[field] = field === 'resetAt' ? Math.max(current, value) : Math.min(current, value);
}

/**
 * Reads the rate-limit headers of a response. Unreadable values are ignored, never thrown.
 *
 * @param headers - response headers (any case; repeated headers as arrays).
 * @param now - the current time in epoch ms, for resets given as seconds from now.
 * @example parseRateLimitHeaders({ 'x-ratelimit-remaining': '12', 'x-ratelimit-reset': '3' }, 1000)
 * // { remaining: 12, resetAt: 4000 }
 */
export function parseRateLimitHeaders(headers: HeaderBag, now: number = Date.now()): RateLimitInfo {
  const info: RateLimitInfo = {};
  for (const [name, raw] of Object.entries(headers)) {
    const field = rateLimitFieldOf(name);
    const text = field ? firstHeaderValue(raw) : undefined;
    if (!field || text === undefined) continue;
    const value = field === 'resetAt' ? normaliseReset(text, now) : numberOf(text);
    if (value !== undefined) merge(info, field, value);
  }
  return info;
}
