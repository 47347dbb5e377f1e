/**
 * Typed failures of Compatibility API requests. Each carries what the API said (status,
 * SignalWire code/message/more_info), the rate-limit headers and Retry-After of the
 * answer, and a classification that tells the worker pipeline what to do. Messages name
 * the method and path, never the host's credentials or the token.
 */
import { ConfbulkError } from '../errors.js';
import type { FailureKind, RateLimitInfo } from './types.js';

export interface SignalWireErrorDetails {
  kind: FailureKind;
  method: string;
  /** Request path without query credentials, e.g. `/api/laml/2010-04-01/Accounts/.../Participants/...`. */
  path: string;
  /** HTTP status; undefined when no answer came (reset, timeout, DNS, refused). */
  status?: number;
  /** SignalWire error code from the body (e.g. 20404), when the body had one. */
  code?: number;
  /** SignalWire's `message`, when the body had one. */
  apiMessage?: string;
  /** SignalWire's `more_info` URL, when the body had one. */
  moreInfo?: string;
  /** Delay asked for by `Retry-After` (seconds or HTTP date), in ms. */
  retryAfterMs?: number;
  rateLimit?: RateLimitInfo;
  /**
   * False when the request provably never reached the API (connection refused, DNS
   * failure, connect timeout, or a 429, which the API never processes). Decides whether
   * a non-idempotent request (an announcement) may be retried.
   */
  reachedServer: boolean;
  /** Low-level error code for network failures (`ECONNRESET`, `UND_ERR_CONNECT_TIMEOUT`, ...). */
  networkCode?: string;
  cause?: unknown;
}

export class SignalWireError extends ConfbulkError {
  readonly kind: FailureKind;
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly code: number | undefined;
  readonly apiMessage: string | undefined;
  readonly moreInfo: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly rateLimit: RateLimitInfo;
  readonly reachedServer: boolean;
  readonly networkCode: string | undefined;

  constructor(message: string, details: SignalWireErrorDetails) {
    super(message, { cause: details.cause });
    this.kind = details.kind;
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.code = details.code;
    this.apiMessage = details.apiMessage;
    this.moreInfo = details.moreInfo;
    this.retryAfterMs = details.retryAfterMs;
    this.rateLimit = details.rateLimit ?? {};
    this.reachedServer = details.reachedServer;
    this.networkCode = details.networkCode;
  }

  /** Plain data for logs and dead letters (no credentials by construction). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      method: this.method,
      path: this.path,
      status: this.status,
      code: this.code,
      apiMessage: this.apiMessage,
      moreInfo: this.moreInfo,
      retryAfterMs: this.retryAfterMs,
      rateLimit: this.rateLimit,
      reachedServer: this.reachedServer,
      networkCode: this.networkCode,
    };
  }
}

/** Recognises a SignalWireError by class or by name (errors cross process boundaries). */
export function isSignalWireError(err: unknown): err is SignalWireError {
  return err instanceof SignalWireError || (err instanceof Error && err.name === 'SignalWireError');
}
