import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig } from '../../src/config.js';
import { CHUNK_JOB_NAME, chunkJobId, membersOf } from '../../src/jobs/chunk-job.js';
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

  it('adds participants in chunks of the same request under ids derived from their members', async () => {
    await withRedis(async (redis, prefix) => {
      const queues = new ParticipantQueues({ connection: redis, prefix, retry: DEFAULTS.retry });
      try {
        const conferenceSid = randomUUID();
        const jobs = [
          ...Array.from({ length: 5 }, () => job({ conferenceSid })),
          job({ conferenceSid, batchId: 'batch-2' }),
        ];
        const [ended] = jobs as [ParticipantJobData];
        const endedIds = new Set([participantJobId(ended.batchId, ended.callSid)]);
        expect(await queues.addInChunks(jobs, { perJob: 2, ended: endedIds })).toBe(4);
        const added = await queues.queue('default').getJobs(['waiting']);
        const byId = new Map(added.map((j) => [j.id, j]));
        const sids = jobs.map((j) => j.callSid);
        // The first chunk's id names both members; its payload leaves out the one that ended.
        const firstChunk = byId.get(chunkJobId('batch-1', sids.slice(0, 2)));
        expect(firstChunk?.name).toBe(CHUNK_JOB_NAME);
        expect(firstChunk?.data).toMatchObject({ callSids: [sids[1]], batchId: 'batch-1' });
        expect(membersOf(firstChunk?.data)).toEqual([
          { jobId: participantJobId('batch-1', sids[1] as string), data: jobs[1] },
        ]);
        expect(byId.get(chunkJobId('batch-1', sids.slice(2, 4)))?.data.callSids).toEqual(
          sids.slice(2, 4),
        );
        // A group of one, and another batch, are plain participant jobs.
        expect(byId.get(participantJobId('batch-1', sids[4] as string))?.data).toEqual(jobs[4]);
        expect(byId.get(participantJobId('batch-2', sids[5] as string))?.data).toEqual(jobs[5]);
        // Adding the same again (a fan-out re-run) adds nothing.
        await queues.addInChunks(jobs, { perJob: 2, ended: endedIds });
        expect(await queues.queue('default').getJobCountByTypes('waiting')).toBe(4);
        await expect(queues.addInChunks(jobs, { perJob: 0 })).rejects.toThrow(
          /`perJob` must be a whole number from 1 to 100/,
        );
      } finally {
        await queues.close();
      }
    });
  });

  it('refuses CONFBULK_UPDATES_PER_JOB outside 1-100, naming it', () => {
    expect(loadConfig({ CONFBULK_UPDATES_PER_JOB: '20' }).updatesPerJob).toBe(20);
    for (const bad of ['0', '101', '2.5', 'ten']) {
      expect(() => loadConfig({ CONFBULK_UPDATES_PER_JOB: bad })).toThrow(
        `CONFBULK_UPDATES_PER_JOB must be a whole number from 1 to 100; got '${bad}'`,
      );
    }
  });
});
