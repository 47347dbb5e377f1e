import { describe, expect, it } from 'vitest';
import { withStack } from './support/stack.js';

describe('worker runtime shutdown', () => {
  it('hands waiting jobs back without an attempt, lets requests in flight finish, and another runtime completes them', async () => {
    await withStack(
      // One request per 40 ms (+ 25 ms of margin) at 100 ms of latency: a steady trickle, so
      // that one or two are in flight whenever the runtime closes (a whole 1 s window would
      // go out in one burst and come back together).
      { participants: 40, rateLimit: { count: 1, durationMs: 40 }, config: { concurrency: 10 } },
      async (s) => {
        s.mock.setFaults({ latencyMs: 100 });
        await s.queues.addJobs(s.jobs());
        const runtime = await s.start();
        await s.waitForOutcomes(3);
        const before = s.outcomes.length;
        const started = Date.now();
        await runtime.close();
        await runtime.close();
        expect(Date.now() - started).toBeLessThan(2000);

        const queue = s.queues.queue('default');
        const done = s.outcomes.length;
        expect(done).toBeLessThan(40);
        expect(done).toBeGreaterThan(before);
        // Every request that went out was answered and recorded; none was cut off.
        const posts = s.mock.requestLog().filter((r) => r.method === 'POST');
        expect(posts.every((r) => r.status === 200)).toBe(true);
        expect(posts.length).toBe(done);
        expect(await queue.getJobCountByTypes('completed')).toBe(done);
        expect(await queue.getJobCountByTypes('failed', 'active')).toBe(0);
        const handedBack = await queue.getJobs(['waiting', 'delayed']);
        expect(handedBack.length).toBe(40 - done);
        expect(handedBack.every((j) => j.attemptsMade === 0)).toBe(true);

        await s.start({
          config: {
            ...s.config,
            spaces: new Map([
              [
                'default',
                {
                  ...s.config.spaces.get('default')!,
                  rateLimits: [{ count: 1000, durationMs: 1000 }],
                },
              ],
            ]),
          },
        });
        await s.waitForOutcomes(40, 15_000);
        expect(s.outcomes.every((o) => o.outcome === 'succeeded')).toBe(true);
        expect(new Set(s.outcomes.map((o) => o.jobId)).size).toBe(40);
        expect(await s.deadLetters.count()).toBe(0);
      },
    );
  });
});
