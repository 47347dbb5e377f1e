/**
 * Dashboard sessions. A browser cannot send a bearer header when it navigates, so a login
 * with an admin token sets a cookie instead. The cookie never holds the token: it holds the
 * token's id, an expiry and an HMAC-SHA256 of both keyed by the bootstrap token, so it
 * cannot be turned back into a token, cannot be moved to another token id, stops working
 * when it expires, and rotating the bootstrap token ends every session. The id is resolved
 * again on every request, so revoking the token ends its sessions too.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'confbulk_admin';

/** How long a dashboard session lasts. @defaultValue 12 h */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const CONTEXT = 'confbulk-admin-session:v2:';

const ID = /^[a-z0-9]{1,32}$/;

function sign(key: string, tokenId: string, expiresAt: number): string {
  return createHmac('sha256', key).update(`${CONTEXT}${tokenId}.${expiresAt}`).digest('base64url');
}

/** Constant-time comparison of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The cookie value of a session of `tokenId` that ends `ttlMs` after `now`. */
export function createSession(
  key: string,
  tokenId: string,
  now = Date.now(),
  ttlMs = SESSION_TTL_MS,
): string {
  const expiresAt = now + ttlMs;
  return `${tokenId}.${expiresAt}.${sign(key, tokenId, expiresAt)}`;
}

/** The token id of `value` when it is an unexpired session signed with `key`. */
export function verifySession(key: string, value: string, now = Date.now()): string | undefined {
  const [tokenId, expiry, mac, extra] = value.split('.');
  if (extra !== undefined || !tokenId || !ID.test(tokenId) || !mac) return undefined;
  const expiresAt = Number(expiry);
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= now) return undefined;
  return safeEqual(mac, sign(key, tokenId, expiresAt)) ? tokenId : undefined;
}

/** The value of cookie `name` in a `Cookie` request header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface CookieAttributes {
  /** Path the browser sends the cookie to. */
  path: string;
  /** Seconds until the browser drops it; 0 deletes it. */
  maxAgeSeconds: number;
  /** Only over https. */
  secure: boolean;
}

/** A `Set-Cookie` value: HttpOnly (no script reads it) and SameSite=Strict (no cross-site use). */
export function sessionCookie(value: string, attrs: CookieAttributes): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    `Path=${attrs.path}`,
    `Max-Age=${attrs.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(attrs.secure ? ['Secure'] : []),
  ].join('; ');
}
