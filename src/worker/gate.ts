/**
 * What a participant request waits for before it is sent: its space's circuit (closed, or
 * this request is the half-open probe; paused after 401/403 until resumed), then a permit
 * of the space's rate limiter. Waiting here consumes no attempt; at shutdown the wait ends
 * with ShutdownPark and the job goes back to the queue.
 */
import { isCircuitBreakerClosedError, isRateLimiterClosedError } from './closed-errors.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { RateLimiter } from './rate-limiter.js';

/** What the pipeline uses of a circuit breaker. */
export type PipelineCircuit = Pick<
  CircuitBreaker,
  | 'waitForPermission'
  | 'recordSuccess'
  | 'recordTransientFailure'
  | 'pauseForCredentials'
  | 'releaseProbe'
>;

/** What the pipeline uses of a rate limiter. */
export type PipelineLimiter = Pick<
  RateLimiter,
  'acquire' | 'onRateLimited' | 'observe' | 'onSuccess'
>;

/** The worker is shutting down and the job had not been sent yet: hand it back. */
export class ShutdownPark extends Error {
  constructor() {
    super('shutting down before the request was sent');
    this.name = 'ShutdownPark';
  }
}

export class Gate {
  constructor(
    private readonly circuit: PipelineCircuit,
    private readonly limiter: PipelineLimiter,
    private readonly shutdown: AbortSignal,
  ) {}

  /**
   * Resolves when one request may be sent; `probe` when it is the circuit's probe, which
   * must be sent or given back (`unused`). @throws ShutdownPark at shutdown.
   */
  async pass(): Promise<{ probe: boolean }> {
    if (this.shutdown.aborted) throw new ShutdownPark();
    let probe = false;
    try {
      ({ probe } = await this.circuit.waitForPermission(this.shutdown));
      await this.limiter.acquire(this.shutdown);
      return { probe };
    } catch (err) {
      if (probe) await this.circuit.releaseProbe();
      if (
        this.shutdown.aborted ||
        isCircuitBreakerClosedError(err) ||
        isRateLimiterClosedError(err)
      ) {
        throw new ShutdownPark();
      }
      throw err;
    }
  }

  /** The request a pass was for will not be sent: its probe permit goes back. */
  async unused(permission: { probe: boolean }): Promise<void> {
    if (permission.probe) await this.circuit.releaseProbe();
  }
}
