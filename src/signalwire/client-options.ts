/**
 * Options of the Compatibility API client, their defaults and their checks.
 */
import { ValidationError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';

export interface ClientOptions {
  /**
   * Longest wait for a TCP/TLS connection, in ms. A connect timeout proves the request was
   * never sent, so even an announcement may be retried after one.
   * @defaultValue 5000
   */
  connectTimeoutMs?: number;
  /**
   * Longest wait for the response headers, and longest silence while the body arrives, in ms.
   * @defaultValue 15000
   */
  requestTimeoutMs?: number;
  /**
   * Keep-alive connections to the space. Sized for hundreds of requests in flight per
   * worker; requests beyond it queue in the client.
   * @defaultValue 256
   */
  connections?: number;
  /**
   * Receives one debug line per request (method, path, status, duration; never headers).
   * @defaultValue a silent logger
   */
  logger?: Logger;
  /**
   * `User-Agent` header.
   * @defaultValue `confbulk (node/<version>)`
   */
  userAgent?: string;
}

export type ResolvedClientOptions = Required<ClientOptions>;

export const CLIENT_DEFAULTS = {
  connectTimeoutMs: 5000,
  requestTimeoutMs: 15_000,
  connections: 256,
} as const;

export const DEFAULT_USER_AGENT = `confbulk (node/${process.versions.node})`;

function wholeNumber(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ValidationError(
      `\`${name}\` must be a whole number from ${min} to ${max}; got ${String(value)}`,
      name,
    );
  }
  return n;
}

/**
 * Fills in defaults and checks every option.
 * @throws ValidationError naming the option and its allowed range.
 */
export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  if (typeof userAgent !== 'string' || userAgent.trim() === '' || /[\r\n]/.test(userAgent)) {
    throw new ValidationError('`userAgent` must be a non-empty single-line string', 'userAgent');
  }
  return {
    connectTimeoutMs: wholeNumber(
      'connectTimeoutMs',
      options.connectTimeoutMs,
      CLIENT_DEFAULTS.connectTimeoutMs,
      1,
      600_000,
    ),
    requestTimeoutMs: wholeNumber(
      'requestTimeoutMs',
      options.requestTimeoutMs,
      CLIENT_DEFAULTS.requestTimeoutMs,
      1,
      3_600_000,
    ),
    connections: wholeNumber(
      'connections',
      options.connections,
      CLIENT_DEFAULTS.connections,
      1,
      10_000,
    ),
    logger: options.logger ?? silentLogger,
    userAgent,
  };
}
