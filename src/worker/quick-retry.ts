/**
 * The in-process retry layer (p-retry): a few quick retries of a transient failure with
 * jitter, so one dropped connection costs milliseconds instead of a trip through the
 * queue's backoff.
 */
import pRetry from 'p-retry';

export interface QuickRetryOptions {
  /** Retries after the first try. @defaultValue `config.retry.quickRetries` */
  retries: number;
  /** Which failures are worth a quick retry; others are thrown at once. */
  shouldRetry: (error: unknown) => boolean;
  /** Called before each retry (metrics). */
  onRetry?: (error: unknown) => void;
  /** Base delay; the n-th retry waits `minDelayMs * 2^(n-1)` times a random factor in [1, 2). @defaultValue 50 */
  minDelayMs?: number;
  /** Longest delay between two tries. @defaultValue 250 */
  maxDelayMs?: number;
}

/**
 * Runs `attempt`, retrying quick-retryable failures. No abort signal on purpose: p-retry
 * would discard a result that arrives after the signal fired, and a request that went out
 * (an announcement) must keep its answer. The caller checks for shutdown in `attempt`.
 */
export function withQuickRetries<T>(
  attempt: () => Promise<T>,
  options: QuickRetryOptions,
): Promise<T> {
  return pRetry(attempt, {
    retries: options.retries,
    factor: 2,
    minTimeout: options.minDelayMs ?? 50,
    maxTimeout: options.maxDelayMs ?? 250,
    randomize: true,
    shouldRetry: ({ error }) => options.shouldRetry(error),
    onFailedAttempt: ({ error, retriesLeft }) => {
      if (retriesLeft > 0 && options.shouldRetry(error)) options.onRetry?.(error);
    },
  });
}
