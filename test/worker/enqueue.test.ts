import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { ValidationError } from '../../src/errors.js';
import { ParticipantQueues } from '../../src/jobs/enqueue.js';
import { participantJobId, type ParticipantJobData } from '../../src/jobs/participant-job.js';
import { withRedis } from '../helpers/redis.js';

function job(overrides: Partial<ParticipantJobData> = {}): ParticipantJobData {
  return {
    v: 1,
    space: 'default',
    conferenceSid: randomUUID(),
    callSid: randomUUID(),
    op: 'update',
    params: { Muted: true },
    batchId: 'batch-1',
    intent: 1,
    ...overrides,
  };
}

describe('ParticipantQueues', () => {
  it('adds jobs per space in chunks under deterministic ids with the retry defaults', async () => {
    await withRedis(async (redis, prefix) => {
      const queues = new ParticipantQueues({
        connection: redis,
        prefix,
        retry: { ...DEFAULTS.retry, attempts: 7 },
      });
      try {
        const jobs = [...Array.from({ length: 5 }, () => job()), job({ space: 'eu' })];
        expect(await queues.addJobs(jobs, { chunkSize: 2 })).toBe(6);
        expect(await queues.queue('default').getJobCountByTypes('waiting')).toBe(5);
        expect(await queues.queue('eu').getJobCountByTypes('waiting')).toBe(1);
        const first = jobs[0] as ParticipantJobData;
        const stored = await queues
          .queue('default')
          .getJob(participantJobId('batch-1', first.callSid));
        expect(stored?.data).toEqual(first);
        expect(stored?.opts).toMatchObject({
          attempts: 7,
          backoff: { type: 'confbulk' },
          removeOnComplete: { age: 3600, count: 100000 },
          removeOnFail: false,
        });

        // The same work enqueued again is a no-op.
        await queues.addJobs(jobs);
        expect(await queues.queue('default').getJobCountByTypes('waiting')).toBe(5);
      } finally {
        await queues.close();
      }
    });
  });

  it('enqueues nothing when any job is invalid, and names it', async () => {
    await withRedis(async (redis, prefix) => {
      const queues = new ParticipantQueues({ connection: redis, prefix, retry: DEFAULTS.retry });
      try {
        const bad = job({ params: { HoldUrl: 'not a url' } });
        const attempt = queues.addJobs([job(), job(), bad]);
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
        await expect(queues.addJobs([job(), bad])).rejects.toMatchObject({
          message: expect.stringMatching(/^jobs\[1\]: HoldUrl must be an http/),
          field: 'jobs[1].params.HoldUrl',
        });
        await expect(queues.addJobs([job({ batchId: 'a:b' })])).rejects.toThrow(
          /must not contain ':'/,
        );
        expect(await queues.queue('default').getJobCountByTypes('waiting')).toBe(0);
      } finally {
        await queues.close();
      }
    });
  });

  it('leaves replays to DeadLetters.replay, which adds each under its own id once', async () => {
    await withRedis(async (redis, prefix) => {
      const queues = new ParticipantQueues({ connection: redis, prefix, retry: DEFAULTS.retry });
      try {
        const replay = job({ replayOf: 'batch-0.abc' });
        await expect(queues.addJobsWithIds([job(), replay])).rejects.toMatchObject({
          field: 'jobs[1].replayOf',
        });
        await expect(queues.addReplayJob(job(), 'batch-0.abc.r1')).rejects.toMatchObject({
          field: 'jobs[0].replayOf',
        });
        await queues.addReplayJob(replay, 'batch-0.abc.r1');
        await queues.addReplayJob({ ...replay, intent: 9 }, 'batch-0.abc.r1');
        const added = await queues.queue('default').getJobs(['waiting']);
        expect(added.map((j) => [j.id, j.data.intent])).toEqual([
          ['batch-0.abc.r1', replay.intent],
        ]);
      } finally {
        await queues.close();
      }
    });
  });
});
