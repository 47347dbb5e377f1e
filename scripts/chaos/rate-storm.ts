/**
 * A 429 storm mid-batch: every POST answered 429 (with Retry-After) for 10 s (3 s with
 * --quick). A 429 consumes no attempt: the rate limiter pauses the whole space for the
 * Retry-After and lowers its rate, then recovers. Promise: nothing dead-lettered,
 * everything completes, attempts stay at one per job.
 */
import { fmt, seconds } from '../bench/support/table.js';
import { sleep, wallNow } from '../bench/support/window.js';
import { check, type ChaosScenario } from './support/scenario.js';
import { batchChecks, inspect, secretChecks, waitForBatch, withScene } from './support/scene.js';

export const rateStorm: ChaosScenario = {
  name: 'rate-storm',
  title: '429 storm mid-batch',
  async run({ quick, log }) {
    const n = quick ? 1000 : 3000;
    const rate = 500;
    const stormMs = quick ? 3000 : 10_000;
    const scene = {
      participants: n,
      workers: 2,
      rateLimit: `${rate}/1s`,
      mockAnswers: { retryAfter: 'seconds' as const },
    };
    return withScene(scene, async (scene) => {
      const { mock } = scene.stack;
      const handle = await scene.submit();
      await scene.waitApplied(Math.floor(n * 0.2));
      const start = wallNow();
      mock.force429(stormMs);
      log(`rate-storm: every POST answered 429 for ${seconds(stormMs)}`);
      await sleep(stormMs);
      const end = wallNow();
      const { batch, ended } = await waitForBatch(scene, handle.id, (n / rate) * 3000 + 120_000);
      const doneAt = wallNow();
      const during = mock.requestLog(start).filter((e) => e.t < end && e.method === 'POST').length;
      const found = await inspect(scene);
      const secrets = await secretChecks(scene);
      return {
        figures: {
          jobs: n,
          storm: seconds(stormMs),
          '429s received': mock.counters().rateLimited,
          'POSTs during the storm': during,
          'storm end to batch end (time to recover)': seconds(doneAt - end),
          lost: found.lost,
          'dead letters': found.deadLetters,
          'attempts max / mean': `${found.maxAttempts} / ${fmt(found.meanAttempts, 3)}`,
        },
        checks: [
          ...batchChecks(n, batch, ended, found),
          check(
            '429s consume no attempt: every job done on its first attempt',
            found.maxAttempts <= 1,
            `max ${found.maxAttempts}`,
          ),
          ...secrets.checks,
        ],
        notes: [
          `2 worker processes x ${scene.concurrency} in flight at ${rate}/s; mock \`force429(${stormMs})\` with Retry-After in seconds.`,
        ],
      };
    });
  },
};
