/**
 * What the pipeline does with a failed request. The client has already sorted every
 * failure into a kind (src/signalwire/classify.ts); this adds the job's side of the
 * decision: whether repeating the request is safe at all.
 */
import { isSignalWireError, type SignalWireError } from '../signalwire/errors.js';
import type { AttemptRecord } from '../dead-letters/types.js';

export type FailureDecision =
  /** 404 (or a 422 for a participant a GET shows completed): it left; not an error. */
  | { action: 'gone'; error: SignalWireError }
  /** 400/422: the request is wrong (a 422 once a GET showed the participant present). */
  | { action: 'invalid'; error: SignalWireError }
  /** 401/403: the space's credentials are wrong; pause the space, the job waits. */
  | { action: 'unauthorized'; error: SignalWireError }
  /** 429: never processed by the API; slow the space down and send again. */
  | { action: 'rate_limited'; error: SignalWireError }
  /** 5xx, reset, timeout. `safeToRetry` is false when repeating could apply it twice. */
  | { action: 'transient'; error: SignalWireError; safeToRetry: boolean }
  /** Not an API answer (a bug, Redis down in a hook): BullMQ's retries take it. */
  | { action: 'unexpected'; error: unknown };

/**
 * Decides what a failure means for a job.
 *
 * A transient failure of a non-idempotent request (an announcement) is retried only when
 * the request provably never reached the API (`reachedServer === false`: refused, DNS,
 * connect timeout). Otherwise the API may have played the announcement before the answer
 * was lost, and a retry would play it to the participant a second time.
 */
export function decideFailure(error: unknown, idempotent: boolean): FailureDecision {
  if (!isSignalWireError(error)) return { action: 'unexpected', error };
  switch (error.kind) {
    case 'gone':
      return { action: 'gone', error };
    case 'invalid':
      return { action: 'invalid', error };
    case 'unauthorized':
      return { action: 'unauthorized', error };
    case 'rate_limited':
      return { action: 'rate_limited', error };
    case 'transient':
      return {
        action: 'transient',
        error,
        safeToRetry: idempotent || error.reachedServer === false,
      };
    default:
      return { action: 'unexpected', error };
  }
}

/**
 * Whether an `invalid` answer may be a participant who left: SignalWire answers an update
 * of a completed call 422 with code 10000, the code of an invalid argument too, so a 422
 * is only called invalid once a follow-up GET shows the participant still in progress.
 * (A 404 is `gone` already.)
 */
export function mayHaveLeft(error: SignalWireError): boolean {
  return error.status === 422;
}

/** Quick (in-process) retries are for transient failures that are safe to repeat. */
export function isQuickRetryable(error: unknown, idempotent: boolean): boolean {
  const decision = decideFailure(error, idempotent);
  return decision.action === 'transient' && decision.safeToRetry;
}

/**
 * Whether a failed request may have taken effect at the API: a timeout or a reset after
 * the request went out, or a failure that is not an API answer at all. Any answer that is
 * not a 2xx or 5xx (4xx, 429, 401/403) and a request that provably never reached the
 * server did nothing.
 */
export function mayHaveApplied(error: unknown): boolean {
  const decision = decideFailure(error, false);
  if (decision.action === 'transient') return decision.error.reachedServer !== false;
  return decision.action === 'unexpected';
}

/**
 * A request that provably never left: no answer, and refused before the connection or
 * never written to one (`reachedServer === false`). Its rate-limit permit goes back. A 429
 * is no such failure: it arrived, and the API may have counted it.
 */
export function neverLeft(error: unknown): boolean {
  return isSignalWireError(error) && error.status === undefined && error.reachedServer === false;
}

/** `2xx`, `4xx`, `5xx`, or `network` when no answer came: the `status_class` label. */
export function statusClass(status: number | undefined): string {
  if (status === undefined || status === 0) return 'network';
  return `${Math.floor(status / 100)}xx`;
}

function messageOf(error: unknown): string {
  if (isSignalWireError(error)) return error.apiMessage ?? error.message;
  return error instanceof Error ? error.message : String(error);
}

/** The attempt-history row of a failure. */
export function attemptRecord(error: unknown, at = new Date()): AttemptRecord {
  const record: AttemptRecord = {
    at: at.toISOString(),
    kind: isSignalWireError(error) ? error.kind : 'error',
    message: messageOf(error),
  };
  if (isSignalWireError(error) && error.status !== undefined) record.status = error.status;
  return record;
}

/** What a dead letter and an outcome report of a failure. */
export interface FailureFacts {
  status?: number;
  code?: number;
  apiMessage?: string;
  moreInfo?: string;
  message: string;
}

export function failureFacts(error: unknown): FailureFacts {
  const facts: FailureFacts = { message: messageOf(error) };
  if (isSignalWireError(error)) {
    if (error.status !== undefined) facts.status = error.status;
    if (error.code !== undefined) facts.code = error.code;
    if (error.apiMessage !== undefined) facts.apiMessage = error.apiMessage;
    if (error.moreInfo !== undefined) facts.moreInfo = error.moreInfo;
  }
  return facts;
}
