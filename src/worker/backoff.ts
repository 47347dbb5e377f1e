/**
 * The `confbulk` queue-level backoff: capped exponential with full jitter.
 *
 * The n-th retry (n = 1, 2, ...) waits a uniformly random time in
 * `[backoffBaseMs, min(backoffMaxMs, backoffBaseMs * 2^(n-1))]`. Full jitter spreads the
 * retries of thousands of jobs that failed together, so they do not return as one wave.
 *
 * Horizon with the defaults (attempts 15, base 1 s, cap 300 s): the 14 retries have caps of
 * 1, 2, 4, 8, 16, 32, 64, 128, 256 s (511 s), then 5 x 300 s (1,500 s): 2,011 s, about
 * 33.5 minutes at most and about 17 minutes on average. It is not what carries a job
 * through a long outage: when failures pile up the space's circuit opens, and jobs waiting
 * for an open circuit consume no attempt. Attempts are spent only while the space is
 * otherwise answering, so a job that exhausts them is failing on its own.
 */
import type { BackoffStrategy } from 'bullmq';
import type { RetryConfig } from '../config.js';

/** Backoff type name to put in job options: `{ backoff: { type: CONFBULK_BACKOFF } }`. */
export const CONFBULK_BACKOFF = 'confbulk';

/** Upper bound of the delay before retry number `retry` (1-based). */
export function backoffCap(
  retry: Pick<RetryConfig, 'backoffBaseMs' | 'backoffMaxMs'>,
  n: number,
): number {
  const exponent = Math.min(Math.max(n, 1) - 1, 40);
  return Math.min(retry.backoffMaxMs, retry.backoffBaseMs * 2 ** exponent);
}

/** Delay before retry number `n` (1-based): uniform in `[base, cap(n)]`. */
export function backoffDelay(
  retry: Pick<RetryConfig, 'backoffBaseMs' | 'backoffMaxMs'>,
  n: number,
  random: () => number = Math.random,
): number {
  const cap = backoffCap(retry, n);
  const floor = Math.min(retry.backoffBaseMs, cap);
  return Math.round(floor + random() * (cap - floor));
}

/** Sum of the caps of every retry of a job: the longest a job can keep retrying. */
export function backoffHorizonMs(retry: RetryConfig): number {
  let total = 0;
  for (let n = 1; n < retry.attempts; n++) total += backoffCap(retry, n);
  return total;
}

/**
 * The strategy for `settings.backoffStrategy` of every worker. BullMQ calls it only for
 * types it does not know itself; a type other than `confbulk` is a configuration mistake.
 */
export function confbulkBackoffStrategy(retry: RetryConfig): BackoffStrategy {
  return (attemptsMade, type) => {
    if (type !== CONFBULK_BACKOFF) {
      throw new Error(
        `unknown backoff type '${String(type)}'; workers of confbulk know 'fixed', 'exponential' and '${CONFBULK_BACKOFF}'`,
      );
    }
    return backoffDelay(retry, attemptsMade);
  };
}
