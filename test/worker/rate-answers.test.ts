import { describe, expect, it } from 'vitest';
import type { MockOptions } from '../../src/mock/index.js';
import { withStack } from './support/stack.js';

/** Each way a 429 can tell when to come back: SignalWire's documented one first. */
const ANSWERS: [string, Partial<MockOptions>][] = [
  ['limit and remaining only (default)', {}],
  [
    'Retry-After in seconds and a reset header',
    { retryAfter: 'seconds', rateLimitReset: 'epoch-seconds' },
  ],
  ['Retry-After as an HTTP date', { retryAfter: 'http-date' }],
  ['no header at all', { headersOn429: 'none' }],
];

describe('429s through the worker, however they are answered', () => {
  for (const [name, answers] of ANSWERS) {
    it(`meets the API's own limit without spending an attempt: ${name}`, async () => {
      await withStack(
        // The API allows 5 per 500 ms, the worker is told 5000/s: it must meet 429s.
        { participants: 20, mock: { ...answers, rateLimit: { count: 5, durationMs: 500 } } },
        async (s) => {
          await s.queues.addJobs(s.jobs({ params: { Muted: true } }));
          await s.start();
          await s.waitForOutcomes(20, 30_000);
          expect(s.mock.counters().rateLimited).toBeGreaterThan(0);
          expect(s.outcomes.every((o) => o.outcome === 'succeeded')).toBe(true);
          expect(s.mock.participants(s.conference.sid).every((p) => p.muted)).toBe(true);
          expect(await s.deadLetters.count()).toBe(0);
          const jobs = await s.queues.queue('default').getJobs(['completed']);
          // BullMQ counts the run that completed a job: 1 = done in its first attempt.
          expect(jobs.map((j) => j.attemptsMade)).toEqual(jobs.map(() => 1));
        },
      );
    });
  }
});
