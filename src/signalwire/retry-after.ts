/**
 * `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP date. SignalWire does not
 * document it, but proxies and load balancers in front of it send it on 429 and 503.
 */

/** A header value as Node and undici hand it over. */
export type HeaderValue = string | readonly string[] | number | undefined | null;

/** The three HTTP date forms all carry a clock time; requiring one keeps `Date.parse` from reading junk as a year. */
const HTTP_DATE_TIME = /\d{1,2}:\d{2}:\d{2}/;

/** First value of a possibly repeated header, as trimmed text. */
export function firstHeaderValue(value: HeaderValue): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw === 'number') return String(raw);
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  return text === '' ? undefined : text;
}

/**
 * Parses an HTTP date (IMF-fixdate, RFC 850 or asctime form) to epoch milliseconds.
 * @returns undefined when `text` is not such a date.
 */
export function parseHttpDate(text: string): number | undefined {
  if (!/[a-z]/i.test(text) || !HTTP_DATE_TIME.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * The delay a `Retry-After` value asks for, in milliseconds.
 *
 * @param value - the header value: delta-seconds (`"2"`, tolerated with decimals) or an HTTP date.
 * @param now - the current time in epoch ms; a date in the past gives 0.
 * @returns undefined when the header is absent or unreadable.
 * @example parseRetryAfter('2') // 2000
 * @example parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:58 GMT')) // 2000
 */
export function parseRetryAfter(value: HeaderValue, now: number = Date.now()): number | undefined {
  const text = firstHeaderValue(value);
  if (text === undefined) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = parseHttpDate(text);
  return at === undefined ? undefined : Math.max(0, at - now);
}
