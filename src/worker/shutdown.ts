/**
 * Shutdown helpers: bounded waits, and cleanup that runs every step even if one throws.
 */
import type { Logger } from '../logger.js';

/** Resolves true when `promise` settles within `ms`, false otherwise (it is not cancelled). */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs every cleanup step in order, each even if an earlier one failed; failures are logged.
 * @throws the first failure, after every step ran.
 */
export async function closeAll(
  logger: Logger,
  steps: readonly (readonly [string, () => Promise<void>])[],
): Promise<void> {
  let first: unknown;
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (err) {
      logger.warn({ err, step: name }, `closing the ${name} failed`);
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}
