/**
 * Dashboard sessions. A browser cannot send a bearer header when it navigates, so a login
 * with the API token sets a cookie instead. The cookie never holds the token: it holds an
 * expiry and an HMAC-SHA256 of that expiry keyed by the token, so it cannot be turned back
 * into the token, it stops working when it expires, and rotating the token ends every
 * session.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'confbulk_admin';

/** How long a dashboard session lasts. @defaultValue 12 h */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const CONTEXT = 'confbulk-admin-session:v1:';

function sign(token: string, expiresAt: number): string {
  return createHmac('sha256', token).update(`${CONTEXT}${expiresAt}`).digest('base64url');
}

/** Constant-time comparison of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The cookie value for a session that ends `ttlMs` after `now`. */
export function createSession(token: string, now = Date.now(), ttlMs = SESSION_TTL_MS): string {
  const expiresAt = now + ttlMs;
  return `${expiresAt}.${sign(token, expiresAt)}`;
}

/** Whether `value` is an unexpired session made with `token`. */
export function verifySession(token: string, value: string, now = Date.now()): boolean {
  const dot = value.indexOf('.');
  if (dot <= 0) return false;
  const expiresAt = Number(value.slice(0, dot));
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= now) return false;
  return safeEqual(value.slice(dot + 1), sign(token, expiresAt));
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
