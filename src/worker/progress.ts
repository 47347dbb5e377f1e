/**
 * The worker's periodic progress line: terminal outcomes since the last line and the rate,
 * written only when something happened, so an idle worker stays quiet.
 */
import type { Logger } from '../logger.js';
import type { OutcomeCounts, WorkerRuntime } from './runtime.js';

function total(c: OutcomeCounts): number {
  return c.succeeded + c.gone + c.superseded + c.dead_lettered;
}

export function startProgressLog(
  runtime: Pick<WorkerRuntime, 'outcomes'>,
  logger: Logger,
  intervalMs: number,
): { stop(): void } {
  if (intervalMs <= 0) return { stop: () => {} };
  let last = runtime.outcomes();
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = runtime.outcomes();
    const at = performance.now();
    const processed = total(now) - total(last);
    if (processed > 0) {
      const perSecond = Math.round((processed * 1000) / (at - lastAt));
      logger.info(
        {
          processed,
          perSecond,
          succeeded: now.succeeded - last.succeeded,
          gone: now.gone - last.gone,
          superseded: now.superseded - last.superseded,
          deadLettered: now.dead_lettered - last.dead_lettered,
          totalProcessed: total(now),
        },
        `processed ${processed} participant jobs (${perSecond}/s)`,
      );
    }
    last = now;
    lastAt = at;
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
