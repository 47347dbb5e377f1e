/**
 * Options of the mock Compatibility API and their defaults, in one place. Programmatic
 * option errors are `TypeError`s naming the option and the constraint it broke.
 */
import type { RateLimitSpec } from '../config.js';

/**
 * How a 429 tells the client when to come back. SignalWire documents no `Retry-After`, so
 * `none` is the default; `seconds` and `http-date` are the two forms of RFC 9110 that
 * proxies in front of an API send.
 */
export type RetryAfterFormat = 'seconds' | 'http-date' | 'none';

/**
 * Whether answers carry `X-RateLimit-Reset`. SignalWire documents only the limit and the
 * remaining count, so `none` is the default; `epoch-seconds` sends epoch seconds with a
 * millisecond fraction (`1764224400.123`).
 */
export type RateLimitResetFormat = 'none' | 'epoch-seconds';

/** What a 429 carries: the `X-RateLimit-*` headers (and Retry-After if asked), or nothing at all. */
export type HeadersOn429 = 'rate-limit' | 'none';

/**
 * How requests for a participant who left (or was removed, or whose conference completed)
 * are answered. SignalWire documents code 10000 for "an attempt to update a conference
 * participant for a completed conference" and a `completed` participant status; Twilio
 * answers 404 (20404) for a participant no longer in the conference.
 */
export interface LeaverAnswers {
  /** An update (POST): `422` with code 10000, or `404` with code 20404. @defaultValue 422 */
  update?: 422 | 404;
  /** A retrieve (GET): `200` with `status: completed`, or `404` with code 20404. @defaultValue 200 */
  retrieve?: 200 | 404;
}

/** Server errors the fault injector can answer with. */
export type ServerErrorStatus = 500 | 502 | 503;

/** `503`: every API request is answered 503. `reset`: every socket is destroyed unanswered. */
export type OutageMode = '503' | 'reset';

/** How updates of one call are rejected, as the API rejects calls in an invalid state. */
export interface CallRejection {
  /** HTTP status. */
  status: 400 | 422;
  /** SignalWire error code, e.g. 21220 (invalid state). */
  code: number;
  /** @defaultValue `Call is not in a valid state for this update` */
  message?: string;
}

/** Faults injected into Compatibility API answers (never into `/_mock` control routes). */
export interface FaultConfig {
  /** Share (0..1) of GET/POST/DELETE requests answered with a server error. @defaultValue 0 */
  errorRate?: number;
  /** Statuses the server errors are drawn from, uniformly. @defaultValue [500, 502, 503] */
  errorStatuses?: ServerErrorStatus[];
  /**
   * Share (0..1) of failed POST/DELETE requests that were applied before the error was
   * answered: the ambiguous outcome a client sees when a gateway fails after the backend
   * did the work. @defaultValue 0
   */
  errorAfterApplyRate?: number;
  /** Fixed delay of every API response in ms, added after the request was counted. @defaultValue 0 */
  latencyMs?: number;
  /** Extra uniform delay in [0, jitterMs) ms. @defaultValue 0 */
  jitterMs?: number;
  /**
   * Delivery jitter: every API request is taken in (logged, counted against the rate limit)
   * a uniform [0, arrivalJitterMs) ms after it arrived, as a network and load balancer that
   * deliver requests unevenly would. Requests sent in one order can then be counted in
   * another. @defaultValue 0
   */
  arrivalJitterMs?: number;
  /**
   * Updates (POST) of these call SIDs are always rejected; merged into those in force,
   * where `null` lifts a call's rejection. @defaultValue {}
   */
  rejectCalls?: Record<string, CallRejection | null>;
  /**
   * Updates and removals (POST/DELETE) of these call SIDs are answered with this server
   * error the next `times` times, then as usual; merged into those in force, where `null`
   * lifts a call's failures. @defaultValue {}
   */
  failCalls?: Record<string, CallFailure | null>;
}

/** A call whose next requests fail with a server error (a transient failure on demand). */
export interface CallFailure {
  status: ServerErrorStatus;
  /** How many of its next POST/DELETE requests fail. */
  times: number;
}

export interface MockOptions {
  /** TCP port; 0 lets the OS pick a free one. @defaultValue 0 */
  port?: number;
  /** Bind address. @defaultValue `127.0.0.1` */
  host?: string;
  /**
   * POST/PUT/PATCH allowed per account in a sliding window, or several windows kept at once
   * (an array); `null` disables the limit.
   * @defaultValue `{ count: 13800, durationMs: 10000 }` (SignalWire's documented account limit)
   */
  rateLimit?: RateLimitSpec | RateLimitSpec[] | null;
  /** Form of the `Retry-After` header of 429 answers. @defaultValue `none` (SignalWire documents none) */
  retryAfter?: RetryAfterFormat;
  /** Form of the `X-RateLimit-Reset` header. @defaultValue `none` (SignalWire documents none) */
  rateLimitReset?: RateLimitResetFormat;
  /** Headers of a 429 answer. @defaultValue `rate-limit` */
  headersOn429?: HeadersOn429;
  /** How requests for participants who left are answered. @defaultValue `{ update: 422, retrieve: 200 }` */
  leavers?: LeaverAnswers;
  /**
   * `status` of the participant in the answer to an accepted update: `participant` (its
   * state, `in-progress`) or `completed` (as the example of SignalWire's update operation
   * shows). @defaultValue `participant`
   */
  updateAnswerStatus?: 'participant' | 'completed';
  /** Entries kept in the request log; the oldest are dropped beyond it. @defaultValue 200000 */
  requestLogCapacity?: number;
  /** Faults active from the start. @defaultValue none */
  faults?: FaultConfig;
  /**
   * Random source in [0, 1) for fault draws and the choice of leaving participants; inject a
   * seeded one for repeatable chaos runs. @defaultValue `Math.random`
   */
  random?: () => number;
}

export const MOCK_DEFAULTS = {
  port: 0,
  host: '127.0.0.1',
  rateLimit: { count: 13_800, durationMs: 10_000 } as RateLimitSpec,
  retryAfter: 'none' as RetryAfterFormat,
  rateLimitReset: 'none' as RateLimitResetFormat,
  headersOn429: 'rate-limit' as HeadersOn429,
  leavers: { update: 422, retrieve: 200 } as Required<LeaverAnswers>,
  updateAnswerStatus: 'participant' as 'participant' | 'completed',
  /** Reported as a conference's `region` (a required field) when none was given. */
  region: 'us1',
  requestLogCapacity: 200_000,
  errorStatuses: [500, 502, 503] as ServerErrorStatus[],
  /** Largest accepted request body; SignalWire's update forms are a few hundred bytes. */
  maxBodyBytes: 64 * 1024,
} as const;

/** Path prefix of the Compatibility API, as the documentation and every answer's `uri` give it. */
export const API_PREFIX = '/api/laml/2010-04-01';

/** The other prefix the API serves: SignalWire's Node SDK calls `https://{space}/2010-04-01/...`. */
export const SDK_API_PREFIX = '/2010-04-01';

/** Path prefix of the mock's own control routes (no auth). */
export const CONTROL_PREFIX = '/_mock';

/** @throws TypeError unless `value` is one of `allowed`. */
export function checkOneOf<T>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new TypeError(
      `\`${name}\` must be one of ${allowed.map(String).join(', ')}; got ${String(value)}`,
    );
  }
  return value as T;
}

/** @throws TypeError unless `value` is a whole number in [min, max]. */
export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(
      `\`${name}\` must be a whole number from ${min} to ${max}; got ${String(value)}`,
    );
  }
  return value;
}

/** @throws TypeError unless `value` is a number in [0, 1]. */
export function checkShare(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new TypeError(`\`${name}\` must be a number from 0 to 1; got ${String(value)}`);
  }
  return value;
}

/**
 * @throws TypeError unless `limit` is null, a valid `{ count, durationMs }` or a non-empty
 * array of them (several windows kept at once).
 */
export function checkRateLimit(
  name: string,
  limit: unknown,
): RateLimitSpec | RateLimitSpec[] | null {
  if (Array.isArray(limit)) {
    if (limit.length === 0) throw new TypeError(`\`${name}\` must not be an empty array`);
    return limit.map((l, i) => checkOneRateLimit(`${name}[${i}]`, l));
  }
  if (limit === null) return null;
  return checkOneRateLimit(name, limit);
}

function checkOneRateLimit(name: string, limit: unknown): RateLimitSpec {
  if (typeof limit !== 'object' || limit === null) {
    throw new TypeError(`\`${name}\` must be null or { count, durationMs }; got ${String(limit)}`);
  }
  const { count, durationMs } = limit as Partial<RateLimitSpec>;
  return {
    count: checkInteger(`${name}.count`, count, 1, 10_000_000),
    durationMs: checkInteger(`${name}.durationMs`, durationMs, 1, 86_400_000),
  };
}
