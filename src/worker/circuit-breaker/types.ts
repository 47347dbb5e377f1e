/**
 * The public face of a space's circuit breaker (implemented in ../circuit-breaker.ts): what
 * the pipeline and the batch reasons call, what it emits, and the gauge values it records.
 */
import type { CircuitState } from './options.js';

/** Gauge values of `metrics.circuitState`. */
export const CIRCUIT_STATE_GAUGE: Record<CircuitState, number> = {
  closed: 0,
  'half-open': 1,
  open: 2,
  paused: 3,
};

export interface CircuitChangeInfo {
  /** Why a space was paused. */
  reason?: string;
  /** When a circuit opened: ms until its next probe may start. */
  nextProbeInMs?: number;
}

export interface CircuitBreaker {
  readonly space: string;
  /**
   * Resolves at once while closed (`probe: false`); waits while open or paused. When a
   * cool-down ends, exactly one caller across all processes gets `probe: true` and must
   * report its result; the others wait for it. Rejects with `signal.reason` when aborted.
   */
  waitForPermission(signal?: AbortSignal): Promise<{ probe: boolean }>;
  /** True while the circuit is not closed, as this process last saw it (no Redis call). */
  isOpen(): boolean;
  /**
   * Resets the consecutive failures; closes a half-open circuit (or a paused one, after its
   * probe). Costs no Redis call in the common case. Never rejects (Redis errors are logged).
   */
  recordSuccess(): Promise<CircuitState>;
  /**
   * Counts a transient failure; opens the circuit at the threshold, or re-opens it (the next
   * probe one interval after this one started) when this process's probe failed. Returns the
   * state after. Never rejects.
   */
  recordTransientFailure(): Promise<CircuitState>;
  /**
   * Credentials rejected (401/403): pauses the space until `resume()` or a successful probe
   * (every `pausedProbeMs`). Only the process that made the transition logs it. Never rejects.
   */
  pauseForCredentials(reason: string): Promise<CircuitState>;
  /**
   * Gives back the probe permit `waitForPermission` granted when its caller will not send
   * after all (superseded, or already sent by an earlier run), so another caller may probe
   * at once rather than after the lease. Nothing when this process holds no permit.
   * Never rejects.
   */
  releaseProbe(): Promise<void>;
  /** Closes the circuit from any state. */
  resume(): Promise<CircuitState>;
  /** The space's state, read from Redis. */
  state(): Promise<CircuitState>;
  on(
    event: 'change',
    listener: (from: CircuitState, to: CircuitState, info: CircuitChangeInfo) => void,
  ): this;
  off(
    event: 'change',
    listener: (from: CircuitState, to: CircuitState, info: CircuitChangeInfo) => void,
  ): this;
  /** Rejects waiting callers with CircuitBreakerClosedError. Idempotent. */
  close(): Promise<void>;
}
