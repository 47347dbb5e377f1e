import { ConfbulkError } from '../../errors.js';

export const CIRCUIT_BREAKER_CLOSED_MESSAGE =
  'the circuit breaker was closed while this request waited for permission';

/** Permission was asked of, or awaited from, a circuit breaker that is closed (shutdown). */
export class CircuitBreakerClosedError extends ConfbulkError {
  constructor(
    /** Space whose breaker was closed. */
    readonly space: string,
  ) {
    super(`${CIRCUIT_BREAKER_CLOSED_MESSAGE} (space '${space}')`);
  }
}
