/**
 * Rates computed exactly from arrival timestamps (the mock's request log), the way a
 * server that counts in sliding windows sees a client.
 */
import type { RequestLogEntry } from '../../../src/mock/index.js';

/**
 * Largest number of timestamps in any half-open window [t, t + widthMs), over every t.
 * `sorted` must be ascending. Only windows starting at a timestamp need checking: moving a
 * window's start up to the next timestamp never loses one.
 */
export function maxInWindow(sorted: readonly number[], widthMs: number): number {
  let best = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    const limit = (sorted[start] as number) + widthMs;
    while (end < sorted.length && (sorted[end] as number) < limit) end++;
    best = Math.max(best, end - start);
  }
  return best;
}

/** Mean rate per second between the first and the last timestamp: (n - 1) / span. */
export function ratePerSecond(sorted: readonly number[]): number {
  if (sorted.length < 2) return 0;
  const span = (sorted[sorted.length - 1] as number) - (sorted[0] as number);
  return span > 0 ? ((sorted.length - 1) / span) * 1000 : 0;
}

/**
 * How soon a window's places are taken again: `durationMs` / the mean time from the k-th
 * timestamp to the (k + count)-th, over every k that has one (0 when none has). A server
 * counting in sliding windows accepts the (k + count)-th only `durationMs` after the k-th,
 * so an exact client reads at most 1.0, whatever the shape of its bursts.
 */
export function slotReuse(
  sorted: readonly number[],
  { count, durationMs }: { count: number; durationMs: number },
): number {
  const pairs = sorted.length - count;
  if (pairs <= 0) return 0;
  let sum = 0;
  for (let k = 0; k < pairs; k++) sum += (sorted[k + count] as number) - (sorted[k] as number);
  return sum > 0 ? durationMs / (sum / pairs) : 0;
}

/** Arrival times of the POSTs in a request log, ascending. */
export function postTimes(log: readonly RequestLogEntry[]): number[] {
  return log
    .filter((e) => e.method === 'POST')
    .map((e) => e.t)
    .sort((a, b) => a - b);
}

/** `performance.timeOrigin + performance.now()`: the clock of the mock's request log. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Polls `check` every `everyMs` until it is true; throws after `timeoutMs` naming `what`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
