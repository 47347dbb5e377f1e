/**
 * What a participant request waits for before it is sent: its space's circuit (closed, or
 * this request is the half-open probe; paused after 401/403 until resumed), then a permit
 * of the space's rate limiter. A request whose circuit opened while it waited for its
 * permit goes back to the circuit (its permit back to the limiter's windows): a backlog
 * waiting at the limiter must not keep sending into an outage. Waiting here consumes no
 * attempt; at shutdown the wait ends with ShutdownPark and the job goes back to the queue.
 */
import { isCircuitBreakerClosedError, isRateLimiterClosedError } from './closed-errors.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { Permit, RateLimiter } from './rate-limiter.js';

/** What the pipeline uses of a circuit breaker. */
export type PipelineCircuit = Pick<
  CircuitBreaker,
  | 'waitForPermission'
  | 'isOpen'
  | 'recordSuccess'
  | 'recordTransientFailure'
  | 'pauseForCredentials'
  | 'releaseProbe'
>;

/** What the pipeline uses of a rate limiter. */
export type PipelineLimiter = Pick<RateLimiter, 'take' | 'onRateLimited' | 'observe' | 'onSuccess'>;

/** What a pass hands out: the probe flag, and the permit (given back when unused). */
export interface Permission {
  probe: boolean;
  permit?: Permit;
}

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
  async pass(): Promise<Permission> {
    for (;;) {
      if (this.shutdown.aborted) throw new ShutdownPark();
      let probe = false;
      try {
        ({ probe } = await this.circuit.waitForPermission(this.shutdown));
        const permit = await this.limiter.take(this.shutdown);
        if (probe || !this.circuit.isOpen()) return { probe, permit };
        permit.giveBack();
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
  }

  /** The request a pass was for will not be sent: its permits go back. */
  async unused(permission: Permission): Promise<void> {
    permission.permit?.giveBack();
    if (permission.probe) await this.circuit.releaseProbe();
  }
}
