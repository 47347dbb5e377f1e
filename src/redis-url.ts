/**
 * Checking and describing `REDIS_URL`. A URL that is not `redis://` or `rediss://` is a
 * configuration error naming REDIS_URL (exit 2), found when the configuration is read
 * rather than as a connection that never answers. Descriptions carry the host and port
 * only, never the user or password, so they may go into logs and error messages.
 */
import { ConfigError } from './errors.js';

const SCHEMES = new Set(['redis:', 'rediss:']);
const EXPECTED = 'expected redis://[[user]:password@]host[:port][/db] or rediss://... for TLS';

/** The URL if it is a Redis URL. @throws ConfigError naming `field` (REDIS_URL) */
export function checkRedisUrl(url: string, field = 'REDIS_URL'): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${field} is not a valid URL: ${EXPECTED}`, field);
  }
  if (!SCHEMES.has(parsed.protocol)) {
    throw new ConfigError(
      `${field} has the scheme '${parsed.protocol.replace(/:$/, '')}', which is not Redis: ${EXPECTED}`,
      field,
    );
  }
  if (!parsed.hostname) throw new ConfigError(`${field} names no host: ${EXPECTED}`, field);
  return url;
}

/** `host:port` of a Redis URL (no credentials); `Redis` when it cannot be parsed. */
export function redisWhere(url: string | undefined): string {
  if (!url) return 'Redis';
  try {
    const parsed = new URL(url);
    return `Redis at ${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'Redis';
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

/** True for an error that means "Redis cannot be reached" rather than a failed command. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  return /Connection is closed|connect ETIMEDOUT|Stream isn't writeable|getaddrinfo/.test(
    err.message,
  );
}

/** The short reason of a connection error, e.g. `ECONNREFUSED`. */
export function connectionReason(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err.message;
}
