import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../../src/queues.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { DeadLetters } from '../../src/dead-letters/dead-letters.js';
import type { NewDeadLetter } from '../../src/dead-letters/types.js';
import { ValidationError } from '../../src/errors.js';
import { ParticipantQueues } from '../../src/jobs/enqueue.js';
import { participantJobId, type ParticipantJobData } from '../../src/jobs/participant-job.js';
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis.js';

function job(overrides: Partial<ParticipantJobData> = {}): ParticipantJobData {
  return {
    v: 1,
    space: 'default',
    conferenceSid: randomUUID(),
    callSid: randomUUID(),
    op: 'update',
    params: { Hold: true, HoldUrl: 'https://example.com/music.mp3' },
    batchId: 'b1',
    intent: 1,
    ...overrides,
  };
}

function letter(
  data: ParticipantJobData,
  reason: NewDeadLetter['reason'] = 'invalid',
): NewDeadLetter {
  return {
    jobId: participantJobId(data.batchId, data.callSid),
    job: data,
    reason,
    status: 422,
    code: 21220,
    apiMessage: 'HoldUrl is not reachable',
    attempts: [
      {
        at: new Date().toISOString(),
        kind: 'invalid',
        status: 422,
        message: 'HoldUrl is not reachable',
      },
    ],
  };
}

describe('DeadLetters', () => {
  let redis: RedisConnection;
  let prefix: string;
  let queues: ParticipantQueues;
  let dlq: DeadLetters;

  beforeEach(() => {
    redis = testRedis({ maxRetriesPerRequest: null });
    prefix = uniquePrefix();
    queues = new ParticipantQueues({ connection: redis, prefix, retry: DEFAULTS.retry });
    dlq = new DeadLetters({ connection: redis, prefix, queues });
  });

  afterEach(async () => {
    await dlq.close();
    await queues.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('keeps one entry per job id: a second add of the same job is a no-op', async () => {
    const data = job();
    const id = await dlq.add(letter(data));
    await dlq.add({ ...letter(data, 'exhausted'), apiMessage: 'second' });
    expect(await dlq.count()).toBe(1);
    const entry = await dlq.get(id);
    expect(entry).toMatchObject({
      id,
      jobId: id,
      reason: 'invalid',
      status: 422,
      code: 21220,
      apiMessage: 'HoldUrl is not reachable',
    });
    expect(entry?.worker).toMatch(/^.+:\d+$/);
    expect(Date.parse(entry?.deadLetteredAt ?? '')).not.toBeNaN();
    expect(entry?.attempts).toHaveLength(1);
  });

  it('lists newest first, filtered by batch and space, with limit and offset', async () => {
    const a = job({ batchId: 'A' });
    const b1 = job({ batchId: 'B' });
    const b2 = job({ batchId: 'B', space: 'eu' });
    for (const d of [a, b1, b2]) await dlq.add(letter(d));
    const all = await dlq.list();
    expect(all.map((e) => e.job.callSid)).toEqual([b2.callSid, b1.callSid, a.callSid]);
    expect((await dlq.list({ batchId: 'B' })).map((e) => e.job.callSid)).toEqual([
      b2.callSid,
      b1.callSid,
    ]);
    expect((await dlq.list({ space: 'eu' })).map((e) => e.job.callSid)).toEqual([b2.callSid]);
    expect((await dlq.list({ limit: 1, offset: 1 })).map((e) => e.job.callSid)).toEqual([
      b1.callSid,
    ]);
  });

  it('replays with changed parameters as new jobs and removes the entries', async () => {
    const data = job({ params: { Hold: true, HoldUrl: 'https://broken.example.com/x.mp3' } });
    const id = await dlq.add(letter(data));
    const result = await dlq.replay({
      ids: [id],
      set: { HoldUrl: 'https://fixed.example.com/music.mp3' },
    });
    expect(result).toEqual({ replayed: 1, jobIds: [`${id}.r1`] });
    expect(await dlq.count()).toBe(0);
    const replayed = await queues.queue('default').getJob(`${id}.r1`);
    expect(replayed?.data).toMatchObject({
      callSid: data.callSid,
      replayOf: id,
      params: { Hold: true, HoldUrl: 'https://fixed.example.com/music.mp3' },
    });
    expect(replayed?.opts.attempts).toBe(DEFAULTS.retry.attempts);

    await dlq.add(letter(data));
    expect((await dlq.replay({ all: true })).jobIds).toEqual([`${id}.r2`]);
  });

  it('replays nothing when one entry would be invalid or an id is unknown', async () => {
    const ok = job();
    const okId = await dlq.add(letter(ok));
    const coach = job({ params: { Muted: true } });
    const coachId = await dlq.add(letter(coach));
    await expect(dlq.replay({ ids: [okId, coachId], set: { Coaching: true } })).rejects.toThrow(
      new RegExp(`dead letter '(${okId}|${coachId})' cannot be replayed: .*CallSidToCoach`),
    );
    const unknown = `b1.${randomUUID()}`;
    await expect(dlq.replay({ ids: [okId, unknown] })).rejects.toThrow(
      `unknown dead-letter id(s): ${unknown}`,
    );
    await expect(dlq.replay({ ids: [okId], set: { HoldUrl: 'ftp://x' } })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await dlq.count()).toBe(2);
    expect(await queues.queue('default').getJobCountByTypes('waiting')).toBe(0);
  });

  it('purges chosen entries or all of them, counting what it removed', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await dlq.add(letter(job())));
    expect(await dlq.purge({ ids: [ids[0] as string, `b1.${randomUUID()}`] })).toBe(1);
    expect(await dlq.count()).toBe(3);
    expect(await dlq.purge({ all: true })).toBe(3);
    expect(await dlq.count()).toBe(0);
  });
});
