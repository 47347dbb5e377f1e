import { describe, expect, it } from 'vitest';
import { participantJobId } from '../../src/jobs/participant-job.js';
import { readCircuitState, resumeSpace } from '../../src/worker/circuit-breaker.js';
import { counterValue, until, withStack } from './support/stack.js';

describe('participant pipeline under faults', () => {
  it('rides out a burst of 429s without consuming attempts or dead-lettering', async () => {
    await withStack({ participants: 40 }, async (s) => {
      await s.start();
      s.mock.force429(300);
      await s.queues.addJobs(s.jobs());
      await s.waitForOutcomes(40, 15_000);
      expect(s.mock.counters().rateLimited).toBeGreaterThan(0);
      expect(s.outcomes.every((o) => o.outcome === 'succeeded')).toBe(true);
      const queue = s.queues.queue('default');
      const jobs = await queue.getJobs(['completed']);
      expect(jobs).toHaveLength(40);
      // BullMQ counts the attempt that completed a job: 1 means no attempt was lost to a 429.
      expect(jobs.every((j) => j.attemptsMade === 1)).toBe(true);
      expect(await queue.getJobCountByTypes('failed')).toBe(0);
      expect(await s.deadLetters.count()).toBe(0);
      expect(
        await counterValue(s.metrics, 'requests', { outcome: 'rate_limited' }),
      ).toBeGreaterThan(0);
    });
  });

  it('survives a 1.5 s outage: the circuit opens, attempts stay small, nothing is dead-lettered', async () => {
    await withStack({ participants: 60, config: { retry: { attempts: 3 } } }, async (s) => {
      s.mock.setFaults({ latencyMs: 5 });
      await s.start();
      s.mock.outage(1500);
      const started = Date.now();
      await s.queues.addJobs(s.jobs());
      await s.waitForOutcomes(60, 20_000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      expect(s.outcomes.every((o) => o.outcome === 'succeeded')).toBe(true);
      const jobs = await s.queues.queue('default').getJobs(['completed']);
      // 1 is the attempt that completed a job; at most one more was spent before the circuit opened.
      expect(Math.max(...jobs.map((j) => j.attemptsMade))).toBeLessThanOrEqual(2);
      expect(jobs.filter((j) => j.attemptsMade > 1).length).toBeLessThanOrEqual(
        s.config.circuit.failureThreshold,
      );
      expect(await s.deadLetters.count()).toBe(0);
      // Without the circuit, 60 jobs x 3 attempts x 2 tries would hammer the API.
      expect(s.mock.counters().byStatus['503'] ?? 0).toBeLessThan(60);
    });
  });

  it('pauses the space on 401 mid-batch, loses nothing, and finishes after resume', async () => {
    await withStack({ participants: 80, config: { concurrency: 5 } }, async (s) => {
      s.mock.setFaults({ latencyMs: 10 });
      await s.queues.addJobs(s.jobs());
      await s.start();
      await s.waitForOutcomes(10);
      s.mock.setToken(s.account.accountSid, 'rotated-token');
      await until(
        async () => (await readCircuitState(s.redis, s.prefix, 'default')) === 'paused',
        5000,
        'paused circuit',
      );
      await new Promise((r) => setTimeout(r, 300));
      const done = s.outcomes.length;
      expect(done).toBeLessThan(80);
      const queue = s.queues.queue('default');
      expect(await queue.getJobCountByTypes('failed')).toBe(0);
      expect(await s.deadLetters.count()).toBe(0);
      const pending = await queue.getJobs(['waiting', 'active', 'delayed']);
      expect(pending.length).toBe(80 - (await queue.getJobCountByTypes('completed')));
      expect(pending.every((j) => j.attemptsMade === 0)).toBe(true);
      expect(s.mock.counters().byStatus['401']).toBeGreaterThan(0);

      s.mock.setToken(s.account.accountSid, s.account.token);
      await resumeSpace(s.redis, s.prefix, 'default');
      await s.waitForOutcomes(80, 15_000);
      expect(s.outcomes.every((o) => o.outcome === 'succeeded')).toBe(true);
      expect(s.mock.participants(s.conference.sid).every((p) => p.muted)).toBe(true);
      expect(await s.deadLetters.count()).toBe(0);
    });
  });

  it('never repeats an announcement whose connection was reset, but retries an idempotent update', async () => {
    await withStack(
      { participants: 2, config: { retry: { attempts: 20, backoffMaxMs: 50 } } },
      async (s) => {
        const [announced, muted] = s.conference.callSids as [string, string];
        await s.start();
        s.mock.outage(400, 'reset');
        await s.queues.addJobs([
          ...s.jobs(
            { batchId: 'announce', params: { AnnounceUrl: 'https://example.com/hello.mp3' } },
            [announced],
          ),
          ...s.jobs({ batchId: 'mute' }, [muted]),
        ]);
        await s.waitForOutcomes(2, 10_000);
        const announceId = participantJobId('announce', announced);
        expect(s.outcomes.find((o) => o.jobId === announceId)).toMatchObject({
          outcome: 'dead_lettered',
          detail: { reason: 'unsafe-retry' },
        });
        expect(s.mock.requestLog().filter((r) => r.callSid === announced)).toHaveLength(1);
        expect(await s.deadLetters.get(announceId)).toMatchObject({
          reason: 'unsafe-retry',
          attempts: [expect.objectContaining({ kind: 'transient' })],
        });
        expect(s.outcomes.find((o) => o.jobId === participantJobId('mute', muted))?.outcome).toBe(
          'succeeded',
        );
      },
    );
  });
});
