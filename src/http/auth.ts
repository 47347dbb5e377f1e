/**
 * The rule that decides whether the server may run without a token at all (only on a
 * loopback address, and only when asked). Tokens themselves are checked in access.ts.
 */
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../errors.js';

/** `localhost`, `127.0.0.0/8` and `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** The host name of a `Host` header (`[::1]:3000` -> `::1`), or undefined when unreadable. */
function hostNameOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    return new URL(`http://${header}`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * In --insecure-local mode every request is an admin, so a web page on another site must
 * not reach the API through DNS rebinding (a name of theirs that resolves to 127.0.0.1):
 * the browser then sends their name as `Host`, which is refused here (421).
 */
export async function checkHostHeader(request: FastifyRequest, reply: FastifyReply) {
  const name = hostNameOf(request.headers.host);
  if (name !== undefined && isLoopbackHost(name)) return;
  return reply.code(421).send({
    error: 'MisdirectedRequest',
    message:
      'Host: --insecure-local serves only requests addressed to localhost, 127.0.0.1 or [::1]',
    field: 'Host',
  });
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
