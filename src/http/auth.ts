/**
 * Bearer-token authentication of the API, and the rule that decides whether the server
 * may run without a token at all (only on a loopback address, and only when asked).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { onRequestHookHandler } from 'fastify';
import { ConfigError } from '../errors.js';
import { UNAUTHORIZED_MESSAGE, UnauthorizedError } from './errors.js';

/** Hashing both sides first gives equal lengths, so the comparison time says nothing. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Rejects a request without `Authorization: Bearer <token>` (401). */
export function bearerAuth(token: string): onRequestHookHandler {
  return async (request) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1] || !sameSecret(match[1], token))
      throw new UnauthorizedError(UNAUTHORIZED_MESSAGE);
  };
}

/** `localhost`, `127.0.0.0/8` and `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

export interface ApiSecurityOptions {
  /** `CONFBULK_API_TOKEN`. */
  token: string | undefined;
  /** Bind address. */
  host: string;
  /** `--insecure-local`: serve without a token on a loopback address. */
  insecureLocal?: boolean;
}

/**
 * Checks that the server may start as configured.
 * @throws ConfigError naming CONFBULK_API_TOKEN and what would be allowed.
 */
export function checkApiSecurity({ token, host, insecureLocal }: ApiSecurityOptions): void {
  if (token !== undefined && token.length < 16) {
    throw new ConfigError(
      'CONFBULK_API_TOKEN must be at least 16 characters (e.g. `openssl rand -hex 32`)',
      'CONFBULK_API_TOKEN',
    );
  }
  if (token) return;
  if (!insecureLocal) {
    throw new ConfigError(
      'CONFBULK_API_TOKEN is not set: the API refuses to serve without a bearer token. Set it ' +
        '(e.g. `openssl rand -hex 32`), or for local development pass --insecure-local with a loopback --host',
      'CONFBULK_API_TOKEN',
    );
  }
  if (!isLoopbackHost(host)) {
    throw new ConfigError(
      `--insecure-local serves without authentication and is allowed only on a loopback host ` +
        `(127.0.0.1, ::1, localhost); got '${host}'. Set CONFBULK_API_TOKEN to serve on other addresses`,
      'CONFBULK_API_TOKEN',
    );
  }
}
