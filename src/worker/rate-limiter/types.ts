/**
 * The public face of a space's rate limiter (implemented in ../rate-limiter.ts): what the
 * pipeline calls, the handle of a granted permit, and the limiter's counters.
 */
import type { RateLimitInfo } from '../../signalwire/types.js';

export interface RateLimiterStats {
  /** Permits handed to callers. */
  granted: number;
  /** Permits granted by Redis to this process. */
  reserved: number;
  /** Granted permits not used in time, or voided by a pause. */
  dropped: number;
  /** Of those, permits given back to the windows (they never started). */
  returned: number;
  /** Requests moved in the windows from their grant's time to a later arrival bound. */
  restamped: number;
  /** Sum of how far (ms) requests were asked to move (bound - grant stamp). */
  movedMs: number;
  /** Permits whose request was reported written (`sent()`). */
  sent: number;
  /** Permits answered without a write moment (their answer is their arrival bound). */
  answeredUnsent: number;
  /** Fastest round trip from write to answer seen lately (ms), 0 before the first. */
  fastestTripMs: number;
  /** Reservations (Redis round trips for permits). */
  reserveCalls: number;
  /** Of those, answered that a window was full (or the space paused): callers wait for it. */
  fullReplies: number;
  /** Redis calls of any kind made by this limiter. */
  redisCalls: number;
  /** Callers waiting for a permit now. */
  waiting: number;
  /** Rate factor last seen, 1 = the configured counts. */
  rateFactor: number;
  /** Margin last seen (ms). */
  marginMs: number;
  /** Redis time (epoch ms) until which the space is paused, as last seen; 0 = never paused. */
  pausedUntil: number;
}

export interface Permit {
  /** Ms the caller waited for it. */
  waitedMs: number;
  /** The request will not go out (or provably never left): its permit returns to the windows. */
  giveBack(): void;
  /**
   * The request was handed whole to its connection now (written to the socket). Its answer
   * then tells how long it may have taken to reach the server: `answered()`. At most once;
   * giveBack does nothing after it.
   */
  sent(): void;
  /**
   * The request's answer (or a failure proving it left: timeout, reset) is back. It reached
   * the server no later than now minus the space's fastest round trip from write to answer
   * (now itself where its write moment is unknown: a client that does not report it);
   * when that may be past its grant's stamp + the base margin, it moves in the windows to
   * that time. At most once, after sending.
   */
  answered(): void;
}

export interface RateLimiter {
  readonly space: string;
  /**
   * Resolves when the caller may send one request, with the ms it waited. Rejects with
   * `signal.reason` when aborted, and with a RateLimiterClosedError when closed.
   */
  acquire(signal?: AbortSignal): Promise<number>;
  /**
   * As `acquire`, with a handle: `giveBack()` when the request will not be sent after all
   * (the circuit opened meanwhile, the job was superseded), so that its permit returns to
   * the windows. At most once, and only before the request would have gone out.
   */
  take(signal?: AbortSignal): Promise<Permit>;
  /**
   * A 429 was answered: pauses the whole space for `retryAfterMs` (else an adaptive
   * backoff), lowers its rate, and widens its margin when its own counts were within the
   * limit. Never rejects; Redis errors are logged.
   */
  onRateLimited(retryAfterMs?: number): Promise<void>;
  /** Learns from a response's rate-limit headers. Cheap when nothing changes. Never rejects. */
  observe(info: RateLimitInfo): Promise<void>;
  /** A request succeeded: counted locally, reported with the next reservation. */
  onSuccess(): void;
  stats(): RateLimiterStats;
  /** Rejects waiting callers with RateLimiterClosedError. Idempotent. */
  close(): Promise<void>;
}
