/**
 * Builds the SignalWireError of each way a request can fail: an error answer, no
 * (complete) answer, or a 2xx answer that cannot be read. Messages name the method and
 * path and what the API said; server text and low-level messages pass through the
 * redactor; low-level errors are copied (code and message only), never attached, because
 * undici errors can carry the request options and with them the Authorization header.
 */
import { STATUS_CODES } from 'node:http';
import { classifyNetworkError, kindOfStatus, reachedServerForStatus } from './classify.js';
import { parseErrorBody } from './error-body.js';
import { SignalWireError } from './errors.js';
import { parseRetryAfter } from './retry-after.js';
import type { FailureKind, RateLimitInfo } from './types.js';

export interface RequestIdentity {
  method: string;
  path: string;
}

export type Redact = (text: string) => string;

/** A copy of a low-level error that keeps only its name, code and (redacted) message. */
export function detachedCause(err: unknown, redact: Redact): Error {
  const source = err instanceof Error ? err : new Error(String(err));
  const copy = new Error(redact(source.message));
  copy.name = source.name;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' || typeof code === 'number') Object.assign(copy, { code });
  return copy;
}

/** An answer with a status outside 2xx. */
export function answeredError(
  req: RequestIdentity,
  answer: {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
    rateLimit: RateLimitInfo;
  },
  redact: Redact,
): SignalWireError {
  const body = parseErrorBody(answer.body);
  const retryAfterMs = parseRetryAfter(answer.headers['retry-after']);
  const said =
    body.code !== undefined
      ? `code ${body.code}: ${body.message ?? 'no message'}`
      : (body.message ?? body.excerpt ?? STATUS_CODES[answer.status] ?? 'no details');
  const retry = retryAfterMs === undefined ? '' : `; retry after ${retryAfterMs} ms`;
  return new SignalWireError(
    redact(`${req.method} ${req.path} answered ${answer.status} (${said})${retry}`),
    {
      kind: kindOfStatus(answer.status),
      method: req.method,
      path: redact(req.path),
      status: answer.status,
      code: body.code,
      apiMessage: body.message === undefined ? undefined : redact(body.message),
      moreInfo: body.moreInfo === undefined ? undefined : redact(body.moreInfo),
      retryAfterMs,
      rateLimit: answer.rateLimit,
      reachedServer: reachedServerForStatus(answer.status),
    },
  );
}

export interface NetworkErrorContext {
  /** Status of an answer whose body then failed. */
  status?: number;
  rateLimit?: RateLimitInfo;
  /** The caller's signal had fired: the failure is the abort, whatever undici reports. */
  aborted?: boolean;
  /** The request never left: refused before the pool, or never written to a connection. */
  notSent?: boolean;
}

/** No answer, or an answer whose body could not be read. */
export function networkError(
  req: RequestIdentity,
  err: unknown,
  redact: Redact,
  context: NetworkErrorContext = {},
): SignalWireError {
  const failure = classifyNetworkError(
    context.aborted ? Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }) : err,
  );
  const reachedServer = context.notSent
    ? false
    : failure.reachedServer || context.status !== undefined;
  const after =
    context.status === undefined ? 'failed' : `answered ${context.status} but the body failed`;
  return new SignalWireError(
    redact(`${req.method} ${req.path} ${after}: ${failure.description} (${failure.networkCode})`),
    {
      kind: failure.kind,
      method: req.method,
      path: redact(req.path),
      status: context.status,
      rateLimit: context.rateLimit,
      reachedServer,
      networkCode: failure.networkCode,
      cause: detachedCause(err, redact),
    },
  );
}

/**
 * A 2xx answer whose body is not what the API documents (not JSON, missing list key, ...).
 * Transient by default: a cut-off or garbled body usually comes out right the next time.
 */
export function malformedAnswer(
  req: RequestIdentity,
  answer: { status: number; rateLimit?: RateLimitInfo; kind?: FailureKind },
  problem: string,
  redact: Redact,
): SignalWireError {
  return new SignalWireError(
    redact(`${req.method} ${req.path} answered ${answer.status} with ${problem}`),
    {
      kind: answer.kind ?? 'transient',
      method: req.method,
      path: redact(req.path),
      status: answer.status,
      rateLimit: answer.rateLimit,
      reachedServer: true,
    },
  );
}
