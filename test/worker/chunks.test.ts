/**
 * Several participants per BullMQ job (CONFBULK_UPDATES_PER_JOB): a chunk's participants
 * keep their own outcomes, retries and dead letters; a chunk that runs again (a BullMQ retry
 * for one member) sends only for members without an outcome. The stalled chunk after a
 * kill -9 is in crash.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ParticipantSlots } from '../../src/worker/participant-slots.js';
import { AttemptHistory } from '../../src/dead-letters/attempt-history.js';
import { DeadLetters } from '../../src/dead-letters/dead-letters.js';
import type { SpaceConfig } from '../../src/config.js';
import { CHUNK_JOB_NAME } from '../../src/jobs/chunk-job.js';
import { participantJobId } from '../../src/jobs/participant-job.js';
import { updatesQueueName, type RedisConnection } from '../../src/queues.js';
import { queuePrefix } from '../../src/keys.js';
import { Queue } from 'bullmq';
import { withScene, type Scene } from '../producer/support.js';
import { postsPerCall, strangerCallSid, until } from './support/stack.js';

function updatesQueue(redis: RedisConnection, prefix: string): Queue {
  const name = updatesQueueName('default');
  return new Queue(name, { connection: redis, prefix: queuePrefix(prefix, name) });
}

describe('chunk jobs', () => {
  it('keeps per-participant outcomes in a chunk with mixed answers, retrying only the one that failed', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk, redis, prefix } = scene as Required<Scene>;
        const conference = mock.createConference(account.accountSid, { participants: 6 });
        const [ok, invalid, flaky] = conference.callSids as [string, string, string];
        const gone = strangerCallSid();
        mock.setFaults({
          rejectCalls: { [invalid]: { status: 400, code: 10000, message: 'Invalid argument' } },
          // First try and its one quick retry fail: the participant needs a BullMQ attempt.
          failCalls: { [flaky]: { status: 500, times: 2 } },
        });
        const workers = await scene.startWorkers();
        const handle = await confbulk.bulkAction({
          action: 'mute',
          target: { conferenceSid: conference.sid, callSids: [...conference.callSids, gone] },
        });
        const batch = await confbulk.waitForBatch(handle.id, { timeoutMs: 20_000 });
        expect(batch.counts).toMatchObject({
          total: 7,
          succeeded: 5,
          gone: 1,
          deadLettered: 1,
          pending: 0,
        });

        // One chunk carried all seven; its second attempt (BullMQ counts both) ran only the
        // participant that failed.
        const queue = updatesQueue(redis, prefix);
        try {
          const jobs = await queue.getJobs(['completed']);
          expect(jobs.map((j) => [j.name, j.attemptsMade])).toEqual([[CHUNK_JOB_NAME, 2]]);
          expect(jobs[0]?.returnvalue).toMatchObject({
            participants: 7,
            skipped: 6,
            outcomes: { succeeded: 1 },
          });
        } finally {
          await queue.close();
        }
        const posts = postsPerCall(mock);
        expect(posts.get(flaky)).toBe(3);
        expect(posts.get(invalid)).toBe(1);
        expect(posts.get(gone)).toBe(1);
        expect(posts.get(ok)).toBe(1);
        expect([...posts.values()].reduce((a, b) => a + b, 0)).toBe(9);
        expect(
          mock.participants(conference.sid).every((p) => p.muted === (p.callSid !== invalid)),
        ).toBe(true);

        // The dead letter and the attempt history are the participant's own.
        const deadLetters = new DeadLetters({ connection: redis, prefix });
        try {
          const entry = await deadLetters.get(participantJobId(handle.id, invalid));
          expect(entry).toMatchObject({
            reason: 'invalid',
            status: 400,
            job: { callSid: invalid },
          });
          expect(await deadLetters.count()).toBe(1);
        } finally {
          await deadLetters.close();
        }
        const history = new AttemptHistory(redis, prefix);
        expect(await history.read(participantJobId(handle.id, flaky))).toEqual([]);
        expect(workers.runtime.outcomes()).toEqual({
          succeeded: 5,
          gone: 1,
          superseded: 0,
          dead_lettered: 1,
        });
      },
      { withMock: true, config: { updatesPerJob: 10 } },
    );
  });

  it('dead-letters a member as exhausted on the chunk’s last attempt, the others succeed once', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk, redis, prefix } = scene as Required<Scene>;
        const conference = mock.createConference(account.accountSid, { participants: 4 });
        const failing = conference.callSids[2] as string;
        mock.setFaults({ failCalls: { [failing]: { status: 503, times: 1000 } } });
        await scene.startWorkers();
        const handle = await confbulk.bulkAction({
          action: 'hold',
          target: { conferenceSid: conference.sid },
        });
        const batch = await confbulk.waitForBatch(handle.id, { timeoutMs: 20_000 });
        expect(batch.counts).toMatchObject({ total: 4, succeeded: 3, deadLettered: 1 });
        const posts = postsPerCall(mock);
        // 3 attempts x (1 try + 1 quick retry) for the failing one, one POST for the others.
        expect(posts.get(failing)).toBe(6);
        for (const sid of conference.callSids) if (sid !== failing) expect(posts.get(sid)).toBe(1);
        const deadLetters = new DeadLetters({ connection: redis, prefix });
        try {
          const entry = await deadLetters.get(participantJobId(handle.id, failing));
          expect(entry?.reason).toBe('exhausted');
          expect(entry?.attempts).toHaveLength(6);
        } finally {
          await deadLetters.close();
        }
      },
      { withMock: true, config: { updatesPerJob: 10 } },
    );
  });

  it('at shutdown lets in-flight members finish and hands the chunk back without an attempt', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk, redis, prefix, config } = scene as Required<Scene>;
        const conference = mock.createConference(account.accountSid, { participants: 20 });
        // The workers read the scene's configuration: its space's rate is changed in place.
        const spaces = config.spaces as Map<string, SpaceConfig>;
        const profile = spaces.get('default')!;
        const setRate = (count: number, durationMs: number): void =>
          void spaces.set('default', { ...profile, rateLimits: [{ count, durationMs }] });
        // One request per 40 ms (+ margin) at 100 ms of latency: one or two in flight
        // whenever the workers stop, the rest of the chunk waiting for permits.
        setRate(1, 40);
        mock.setFaults({ latencyMs: 100 });
        const workers = await scene.startWorkers({ concurrency: 10 });
        const handle = await confbulk.bulkAction({
          action: 'mute',
          target: { conferenceSid: conference.sid },
        });
        await until(
          async () => ((await confbulk.getBatch(handle.id))?.counts.succeeded ?? 0) >= 3,
          10_000,
          '3 outcomes',
        );
        await workers.stop();
        const posts = mock.requestLog().filter((r) => r.method === 'POST');
        expect(posts.every((r) => r.status === 200)).toBe(true);
        const done = (await confbulk.getBatch(handle.id))?.counts.succeeded ?? 0;
        expect(done).toBe(posts.length);
        expect(done).toBeLessThan(20);
        const queue = updatesQueue(redis, prefix);
        try {
          expect(await queue.getJobCountByTypes('failed', 'active')).toBe(0);
          const handedBack = await queue.getJobs(['waiting', 'delayed']);
          expect(handedBack.length).toBeGreaterThan(0);
          expect(handedBack.every((j) => j.name === CHUNK_JOB_NAME && j.attemptsMade === 0)).toBe(
            true,
          );
        } finally {
          await queue.close();
        }

        setRate(1000, 1000);
        await scene.startWorkers({ concurrency: 10 });
        const batch = await confbulk.waitForBatch(handle.id, { timeoutMs: 20_000 });
        expect(batch.counts).toMatchObject({ total: 20, succeeded: 20, pending: 0 });
        const perCall = postsPerCall(mock);
        expect(perCall.size).toBe(20);
        expect([...perCall.values()].every((n) => n === 1)).toBe(true);
      },
      { withMock: true, config: { updatesPerJob: 10 } },
    );
  });
});

describe('participant slots', () => {
  it('hold as many chunks as the slots fill, and as many single jobs as there are slots', () => {
    // Chunks to fill the slots, and one more waiting for them.
    const slots = new ParticipantSlots(500, 50);
    const told: number[] = [];
    slots.onJobsToHold = (jobs) => void told.push(jobs);
    expect(slots.jobsToHold()).toBe(11);
    const ends = Array.from({ length: 11 }, () => slots.jobStarted(50));
    expect(slots.jobsToHold()).toBe(11);
    const small = slots.jobStarted(20);
    expect(slots.jobsToHold()).toBe(12);
    small();
    for (const end of ends) end();
    expect(told.at(-1)).toBe(11);
    // Single-participant jobs: the worker takes more as they start, up to the slots (+ 50).
    const singles = Array.from({ length: 100 }, () => slots.jobStarted(1));
    expect(slots.jobsToHold()).toBe(100 + 9);
    const more = Array.from({ length: 400 }, () => slots.jobStarted(1));
    expect(slots.jobsToHold()).toBe(501);
    for (const end of [...singles, ...more]) end();
    expect(new ParticipantSlots(10, 1).jobsToHold()).toBe(11);
    expect(new ParticipantSlots(1, 50).jobsToHold()).toBe(1);
    expect(new ParticipantSlots(50, 20).jobsToHold()).toBe(3);
  });

  it('let at most their capacity run, hand a freed slot to the oldest waiter, and give up at shutdown', async () => {
    const slots = new ParticipantSlots(2, 50);
    await slots.acquire();
    await slots.acquire();
    const shutdown = new AbortController();
    const order: string[] = [];
    const first = slots.acquire(shutdown.signal).then(() => order.push('first'));
    const second = slots.acquire(shutdown.signal).then(
      () => order.push('second'),
      () => order.push('second gave up'),
    );
    slots.release();
    await first;
    shutdown.abort(new Error('shutdown'));
    await second;
    expect(order).toEqual(['first', 'second gave up']);
    await expect(slots.acquire(shutdown.signal)).rejects.toThrow('shutdown');
  });
});
