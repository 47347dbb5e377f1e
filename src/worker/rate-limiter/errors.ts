import { ConfbulkError } from '../../errors.js';

export const RATE_LIMITER_CLOSED_MESSAGE =
  'the rate limiter was closed while this request waited for a permit';

/** A permit was asked of, or awaited from, a rate limiter that is closed (shutdown). */
export class RateLimiterClosedError extends ConfbulkError {
  constructor(
    /** Space whose limiter was closed. */
    readonly space: string,
  ) {
    super(`${RATE_LIMITER_CLOSED_MESSAGE} (space '${space}')`);
  }
}
