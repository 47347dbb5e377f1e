/**
 * Options of the per-space circuit breaker, their defaults and their checks.
 */
import type { RedisConnection } from '../../queues.js';
import type { CircuitConfig } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';

export type CircuitState = 'closed' | 'open' | 'half-open' | 'paused';

export const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'paused'];

export interface CircuitBreakerOptions {
  /** Connection for the breaker's scripts. Shared; not closed by `close()`. */
  redis: RedisConnection;
  /**
   * Optional connection in subscriber mode: transitions made by other processes are then
   * seen at once instead of at the next poll. Shared; not closed by `close()`.
   */
  subscriber?: RedisConnection;
  /** CONFBULK_PREFIX, e.g. `confbulk` (src/keys.ts puts the space's keys under its hash tag). */
  prefix: string;
  /** Space profile name; every process serving this space shares one circuit. */
  space: string;
  /** Threshold and probe intervals (src/config.ts). */
  config: CircuitConfig;
  /**
   * How long a probe permit is held before another process may probe, in ms, so that a
   * prober that crashed does not wedge the space. Longer than one request's timeout.
   * @defaultValue 30000
   */
  probeLeaseMs?: number;
  /**
   * Poll interval while the circuit is not closed, in ms.
   * @defaultValue 200
   */
  pollMs?: number;
  /**
   * Poll interval while the circuit is closed, in ms: how soon a process that missed a
   * pub/sub message (or has no subscriber) learns that another one opened the circuit.
   * @defaultValue 1000
   */
  closedPollMs?: number;
  /**
   * How long a count of consecutive failures is kept without a new failure, in ms.
   * @defaultValue 60000
   */
  failureMemoryMs?: number;
  logger?: Logger;
  /** Records `circuitState` (0 closed, 1 half-open, 2 open, 3 paused) under the label `space`. */
  metrics?: Pick<Metrics, 'circuitState'>;
}

export type ResolvedCircuitBreakerOptions = Required<
  Omit<CircuitBreakerOptions, 'subscriber' | 'logger' | 'metrics'>
> &
  Pick<CircuitBreakerOptions, 'subscriber' | 'logger' | 'metrics'>;

function checkWhole(value: number, option: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(
      `Expected \`${option}\` to be a whole number from ${min} to ${max}; got ${String(value)}`,
    );
  }
}

/** Fills in defaults and checks every option. @throws TypeError naming the option. */
export function resolveOptions(options: CircuitBreakerOptions): ResolvedCircuitBreakerOptions {
  for (const name of ['prefix', 'space'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '') {
      throw new TypeError(
        `Expected \`${name}\` to be a non-empty string; got ${String(options[name])}`,
      );
    }
  }
  const { config } = options;
  checkWhole(config?.failureThreshold, 'config.failureThreshold', 1, 1_000_000);
  checkWhole(config.probeIntervalMs, 'config.probeIntervalMs', 1, 86_400_000);
  checkWhole(config.pausedProbeMs, 'config.pausedProbeMs', 1, 86_400_000);
  const resolved: ResolvedCircuitBreakerOptions = {
    ...options,
    probeLeaseMs: options.probeLeaseMs ?? 30_000,
    pollMs: options.pollMs ?? 200,
    closedPollMs: options.closedPollMs ?? 1000,
    failureMemoryMs: options.failureMemoryMs ?? 60_000,
  };
  checkWhole(resolved.probeLeaseMs, 'probeLeaseMs', 1, 86_400_000);
  checkWhole(resolved.pollMs, 'pollMs', 1, 60_000);
  checkWhole(resolved.closedPollMs, 'closedPollMs', 1, 600_000);
  checkWhole(resolved.failureMemoryMs, 'failureMemoryMs', 1, 86_400_000);
  return resolved;
}
