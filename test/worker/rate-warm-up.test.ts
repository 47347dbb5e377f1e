/**
 * The rate limiter's first second (src/worker/rate-limiter/arrivals.ts): before the fastest
 * round trip is trusted, an answered request's move waits, and is decided before its
 * grant's entry would leave the window, with the fastest trip sampled by then.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { limiterKeys } from '../../src/worker/rate-limiter/keys.js';
import { ARRIVAL_SLACK_MS } from '../../src/worker/rate-limiter/arrivals.js';
import { createRateLimiter } from '../../src/worker/rate-limiter.js';
import { testRedis, withRedis } from '../helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('rate limiter warm-up', () => {
  it("decides a first second's moves with the fastest trip sampled by then, before the grant leaves its window", async () => {
    const limit = { count: 10, durationMs: 1000 };
    const margin = 10;
    await withRedis(async (redis, prefix) => {
      const own = testRedis({ maxRetriesPerRequest: null });
      const l = createRateLimiter({ redis: own, prefix, space: 'acme', limits: [limit] });
      try {
        const asked = performance.now();
        const permits = await Promise.all(Array.from({ length: 10 }, () => l.take()));
        for (const p of permits) p.sent();
        // Nine answered 50 ms after their write (the fastest trip), one 150 ms later than
        // that: only the last may have reached the server late.
        await sleep(50);
        for (const p of permits.slice(0, 9)) p.answered();
        await sleep(150);
        const lateAnswer = performance.now() - asked;
        permits[9]!.answered();
        // The fastest trip is not trusted in its first second, and nothing has to move yet:
        // counting them from their answers now would move all ten by a round trip.
        await sleep(250);
        expect(l.stats().restamped).toBe(0);
        // Decided ahead of the entry's leaving (1000 + 10 ms after the grant, less 100 ms of
        // lead), with the fastest trip of what was sampled by then: one moved.
        await until(() => l.stats().restamped === 1, 1500);
        await sleep(50);
        expect(l.stats().restamped).toBe(1);
        const keys = limiterKeys(prefix, 'acme', [limit]);
        const entries = (await redis.lrange(keys.windows[0]!, 0, -1)).map((e) =>
          e.split(' ').map(Number),
        );
        // The grants (one entry per reservation) hold nine, all within a few ms; the moved
        // one stands alone after them.
        const grant = entries[0]![0]!;
        const [last, ...granted] = [entries.at(-1)!, ...entries.slice(0, -1)];
        expect(granted.reduce((sum, [, c]) => sum + c!, 0)).toBe(9);
        expect(granted.every(([at]) => at! - grant < 20)).toBe(true);
        expect(last[1]).toBe(1);
        // Moved to its arrival bound (answer - fastest trip, about 150 ms after the grant)
        // less the margin plus the slack, never to its answer's own bound.
        const moved = last[0]! - grant;
        expect(moved).toBeGreaterThanOrEqual(150 - margin + ARRIVAL_SLACK_MS - 10);
        expect(moved).toBeLessThanOrEqual(lateAnswer - 50 - margin + ARRIVAL_SLACK_MS + 3);
        // Nine places free when the grant leaves; the tenth only when the moved one does.
        await l.acquire();
        expect(performance.now() - asked).toBeGreaterThanOrEqual(limit.durationMs);
        await Promise.all(Array.from({ length: 8 }, () => l.acquire()));
        await l.acquire();
        expect(performance.now() - asked).toBeGreaterThanOrEqual(
          limit.durationMs + 150 + ARRIVAL_SLACK_MS - 10,
        );
      } finally {
        await l.close();
        own.disconnect();
      }
    });
  });
});
