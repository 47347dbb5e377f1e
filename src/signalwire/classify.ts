/**
 * What a failed request means for the worker pipeline: retry it (`transient`,
 * `rate_limited`), drop it (`gone`: the participant left), fail it (`invalid`), or stop
 * the whole space (`unauthorized`). And whether the request may have reached the API,
 * which decides if a non-idempotent request (an announcement) may be sent again.
 */
import type { FailureKind } from './types.js';

/** Classification of an HTTP answer that is not 2xx. */
export function kindOfStatus(status: number): FailureKind {
  if (status === 429) return 'rate_limited';
  if (status >= 500 || status === 408) return 'transient';
  if (status === 404) return 'gone';
  if (status === 401 || status === 403) return 'unauthorized';
  return 'invalid';
}

/** An answer proves the request reached the API, except a 429: the API never processes those. */
export function reachedServerForStatus(status: number): boolean {
  return status !== 429;
}

export interface NetworkFailure {
  kind: FailureKind;
  /** False only when the failure happened before the request could be sent. */
  reachedServer: boolean;
  /** `ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`, ... or `UNKNOWN`. */
  networkCode: string;
  /** What happened, in words, for error messages. */
  description: string;
}

interface CodeInfo {
  description: string;
  /** Failures in the connect phase (or before it) prove the request was never sent. */
  sent: boolean;
  kind?: FailureKind;
}

const CODES: Record<string, CodeInfo> = {
  ECONNREFUSED: { description: 'connection refused', sent: false },
  ENOTFOUND: { description: 'host name not found (DNS)', sent: false },
  EAI_AGAIN: { description: 'DNS lookup failed temporarily', sent: false },
  EHOSTUNREACH: { description: 'host unreachable', sent: false },
  ENETUNREACH: { description: 'network unreachable', sent: false },
  UND_ERR_CONNECT_TIMEOUT: { description: 'connect timed out', sent: false },
  UND_ERR_CLOSED: { description: 'client is closed', sent: false },
  UND_ERR_INVALID_ARG: {
    description: 'request rejected by the HTTP client',
    sent: false,
    kind: 'invalid',
  },
  ECONNRESET: { description: 'connection reset', sent: true },
  EPIPE: { description: 'connection closed while sending', sent: true },
  ETIMEDOUT: { description: 'connection timed out', sent: true },
  UND_ERR_SOCKET: { description: 'connection closed by the other side', sent: true },
  UND_ERR_HEADERS_TIMEOUT: { description: 'no response headers in time', sent: true },
  UND_ERR_BODY_TIMEOUT: { description: 'response body stalled', sent: true },
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: { description: 'response body cut off', sent: true },
  UND_ERR_ABORTED: { description: 'aborted by the caller', sent: true },
  ABORT_ERR: { description: 'aborted by the caller', sent: true },
};

function ownCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/**
 * The low-level code of a network failure. Looks through `cause` and the `errors` of an
 * AggregateError (Node's happy-eyeballs connect reports one per address tried).
 */
export function networkCodeOf(err: unknown): string {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const next = queue.shift();
    if (typeof next !== 'object' || next === null || seen.has(next)) continue;
    seen.add(next);
    const code = ownCode(next);
    if (code && code in CODES) return code;
    const { cause, errors } = next as { cause?: unknown; errors?: unknown };
    queue.push(cause, ...(Array.isArray(errors) ? errors : []));
  }
  if (err instanceof Error && err.name === 'AbortError') return 'ABORT_ERR';
  return ownCode(err) ?? 'UNKNOWN';
}

/**
 * Classifies a request that got no (complete) answer. Unknown failures count as transient
 * and as possibly sent: the safe assumption for both retries and announcements.
 */
export function classifyNetworkError(err: unknown): NetworkFailure {
  const networkCode = networkCodeOf(err);
  const info = CODES[networkCode];
  return {
    kind: info?.kind ?? 'transient',
    reachedServer: info?.sent ?? true,
    networkCode,
    description: info?.description ?? 'request failed',
  };
}
