/**
 * Recognising "closed while waiting" errors of the limiter and the circuit breaker by class
 * or by name, as confbulk recognises every error.
 */
import { CircuitBreakerClosedError } from './circuit-breaker/errors.js';
import { RateLimiterClosedError } from './rate-limiter/errors.js';

export function isRateLimiterClosedError(err: unknown): boolean {
  return (
    err instanceof RateLimiterClosedError ||
    (err instanceof Error && err.name === 'RateLimiterClosedError')
  );
}

export function isCircuitBreakerClosedError(err: unknown): boolean {
  return (
    err instanceof CircuitBreakerClosedError ||
    (err instanceof Error && err.name === 'CircuitBreakerClosedError')
  );
}
