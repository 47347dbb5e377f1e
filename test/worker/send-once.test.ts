/**
 * Sent at most once where a repeat is audible, and never again after a 2xx: an
 * announcement that finds its send record does not send; a 2xx whose bookkeeping fails is
 * not sent again; answers that prove nothing was done give the record back.
 */
import { describe, expect, it } from 'vitest';
import { participantJobId } from '../../src/jobs/participant-job.js';
import { limiterKeys } from '../../src/worker/rate-limiter/keys.js';
import { sendRecordKey, takeScript } from '../../src/worker/send-record.js';
import { withRedis } from '../helpers/redis.js';
import type { PipelineHooks } from '../../src/worker/types.js';
import { until, withStack, type Stack } from './support/stack.js';

const ANNOUNCE = { AnnounceUrl: 'https://example.com/notice.xml' };

function postsFor(s: Stack, callSid: string): number {
  return s.mock.requestLog().filter((r) => r.method === 'POST' && r.callSid === callSid).length;
}

describe('send records', () => {
  it('a take sent again after a dropped connection takes its own record; another try finds it', async () => {
    await withRedis(async (redis, prefix) => {
      const key = sendRecordKey(prefix, 'job-1');
      expect(await takeScript.run(redis, [key], ['sending:aaa', 60_000])).toBe('');
      // The same call again (ioredis re-sends a command whose reply was lost): still ours.
      expect(await takeScript.run(redis, [key], ['sending:aaa', 60_000])).toBe('');
      // Another try of the job: the earlier one may have played.
      expect(await takeScript.run(redis, [key], ['sending:bbb', 60_000])).toBe('sending:aaa');
    });
  });

  it('never sends an announcement whose earlier run may have sent it: unsafe-retry, "may have been played"', async () => {
    await withStack({ participants: 2 }, async (s) => {
      const [earlier, fresh] = s.conference.callSids as [string, string];
      const earlierId = participantJobId('batch-1', earlier);
      // What a run killed while its request was out leaves behind.
      await s.redis.set(sendRecordKey(s.prefix, earlierId), 'sending:dead0run');
      await s.queues.addJobs(s.jobs({ params: ANNOUNCE }));
      await s.start();
      await s.waitForOutcomes(2);
      expect(s.outcomes.find((o) => o.jobId === earlierId)).toMatchObject({
        outcome: 'dead_lettered',
        detail: { reason: 'unsafe-retry', requests: 0 },
      });
      const entry = await s.deadLetters.get(earlierId);
      expect(entry?.reason).toBe('unsafe-retry');
      expect(entry?.apiMessage).toMatch(/may have been played/);
      expect(postsFor(s, earlier)).toBe(0);
      expect(postsFor(s, fresh)).toBe(1);
      expect(await s.redis.get(sendRecordKey(s.prefix, participantJobId('batch-1', fresh)))).toBe(
        'sent:200',
      );
    });
  });

  it('records the outcome an earlier run got a 2xx for, without sending', async () => {
    await withStack({ participants: 1 }, async (s) => {
      const [callSid] = s.conference.callSids as [string];
      const jobId = participantJobId('batch-1', callSid);
      await s.redis.set(sendRecordKey(s.prefix, jobId), 'sent:200');
      await s.queues.addJobs(s.jobs({ params: ANNOUNCE }));
      await s.start();
      await s.waitForOutcomes(1);
      expect(s.outcomes[0]).toMatchObject({
        jobId,
        outcome: 'succeeded',
        detail: { status: 200, requests: 0 },
      });
      expect(postsFor(s, callSid)).toBe(0);
      expect(await s.deadLetters.count()).toBe(0);
    });
  });

  it('gives the record back on a 429 and sends the announcement once when it is accepted', async () => {
    // The API takes 2 POSTs a second: most of the 5 announcements are answered 429 first.
    const mock = { rateLimit: { count: 2, durationMs: 1000 } };
    await withStack({ participants: 5, mock }, async (s) => {
      await s.queues.addJobs(s.jobs({ params: ANNOUNCE }));
      await s.start();
      await s.waitForOutcomes(5, 20_000);
      expect(s.mock.counters().rateLimited).toBeGreaterThan(0);
      expect(s.outcomes.every((o) => o.outcome === 'succeeded')).toBe(true);
      for (const p of s.mock.participants(s.conference.sid)) expect(p.announcements).toBe(1);
    });
  });

  it.each([
    ['an announcement', ANNOUNCE],
    ['an idempotent update', { Muted: true }],
  ])(
    'retries only the bookkeeping when the outcome write fails after a 2xx (%s)',
    async (_what, params) => {
      await withStack({ participants: 3 }, async (s) => {
        const recorded: string[] = [];
        let failures = 0;
        const hooks: PipelineHooks = {
          // The first three outcome writes fail, as they do while Redis fails over.
          async onOutcome(_job, jobId, outcome) {
            if (failures++ < 3) throw new Error('READONLY You can not write against a replica');
            recorded.push(`${jobId} ${outcome}`);
          },
        };
        await s.queues.addJobs(s.jobs({ params }));
        await s.start({ hooks });
        await until(() => recorded.length === 3, 10_000, 'three outcomes');
        expect(recorded.every((r) => r.endsWith(' succeeded'))).toBe(true);
        for (const callSid of s.conference.callSids) expect(postsFor(s, callSid)).toBe(1);
        await until(
          async () => (await s.queues.queue('default').getJobCountByTypes('completed')) === 3,
          5000,
          'completion',
        );
        const jobs = await s.queues.queue('default').getJobs(['completed']);
        expect(jobs.every((j) => j.attemptsMade <= 1)).toBe(true);
      });
    },
  );
});

describe('rate-limit permits of requests that never left', () => {
  it('gives back the permit of a request whose connection was refused: it never reached the API', async () => {
    const limit = { count: 100, durationMs: 10_000 };
    await withStack({ participants: 2, rateLimit: limit }, async (s) => {
      await s.mock.stop(); // every connection is refused from here on
      await s.queues.addJobs(s.jobs());
      await s.start();
      const retries = async () =>
        (await s.metrics.retries.get()).values.reduce((sum, v) => sum + v.value, 0);
      // Tries were made (each quick retry follows a refused try, which took a permit) ...
      await until(async () => (await retries()) >= 2, 10_000, 'refused tries to be retried');
      // ... and every permit went back: the 10 s window counts none of them.
      const keys = limiterKeys(s.prefix, 'default', [limit]);
      await until(
        async () => Number((await s.redis.hget(keys.state, 'n:10000')) ?? 0) === 0,
        2000,
        'the refused requests to leave the window',
      );
      const entries = await s.redis.lrange(keys.windows[0]!, 0, -1);
      expect(entries.reduce((sum, e) => sum + Number(e.split(' ')[1]), 0)).toBe(0);
    });
  });
});
