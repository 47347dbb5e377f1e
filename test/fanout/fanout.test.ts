/**
 * The fan-out job against the mock API: lists (or takes the explicit list), leaves out
 * `except`, enqueues one job per participant exactly once even when run twice, resolves a
 * conference by friendly name, fails a batch whose conference does not exist, and is fast.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { BatchStore } from '../../src/batches/store.js';
import type { Fanout, FanoutJobData } from '../../src/fanout/fanout.js';
import { ProducerKeys, queuePrefix } from '../../src/keys.js';
import { QUEUE_NAMES } from '../../src/queues.js';
import { eventually, SID, withScene, type Scene } from '../producer/support.js';
import { withFanoutParts } from './support.js';

/** A fan-out worker only: participant jobs stay queued, to be counted. */
async function withFanout<T>(
  scene: Scene,
  fn: (fanout: Fanout, updates: Queue) => Promise<T>,
): Promise<T> {
  return withFanoutParts(scene, async (fanout, updates) => {
    const workerConnection = scene.redis.duplicate();
    const worker = new Worker(QUEUE_NAMES.fanout, fanout.processor, {
      connection: workerConnection,
      prefix: queuePrefix(scene.prefix, QUEUE_NAMES.fanout),
    });
    try {
      return await fn(fanout, updates);
    } finally {
      await worker.close();
      workerConnection.disconnect();
    }
  });
}

const fakeJob = (batchId: string): Job<FanoutJobData> =>
  ({ data: { batchId }, attemptsMade: 0, opts: { attempts: 8 } }) as unknown as Job<FanoutJobData>;

describe('fan-out', () => {
  it('enqueues one job per participant of 2,500, except the except list, once even when run twice', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk } = scene as Required<Scene>;
        const conference = mock.createConference(account.accountSid, { participants: 2500 });
        const except = conference.callSids.slice(0, 3);
        await withFanout(scene, async (fanout, updates) => {
          const handle = await confbulk.bulkAction({
            action: 'mute',
            target: { conferenceSid: conference.sid, except },
          });
          // A second run of the same fan-out (a crash re-run) at the same time adds nothing.
          await fanout.processor(fakeJob(handle.id));
          const batch = await confbulk.getBatch(handle.id);
          expect(batch?.state).toBe('running');
          expect(batch?.counts).toMatchObject({ total: 2497, pending: 2497 });
          expect(batch?.startedAt).toBeDefined();
          expect(await updates.getJobCountByTypes('waiting', 'delayed', 'prioritized')).toBe(2497);
          const job = await updates.getJob(`${handle.id}.${conference.callSids[3]}`);
          expect(job?.data).toEqual({
            v: 1,
            space: 'default',
            conferenceSid: conference.sid,
            callSid: conference.callSids[3],
            op: 'update',
            params: { Muted: true },
            batchId: handle.id,
            intent: handle.batch.intent,
          });
          expect(await updates.getJob(`${handle.id}.${except[0]}`)).toBeUndefined();
        });
      },
      { withMock: true },
    );
  });

  it('enqueues all 10,000 participants of a large conference', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk } = scene as Required<Scene>;
        const conference = mock.createConference(account.accountSid, { participants: 10_000 });
        await withFanout(scene, async (_fanout, updates) => {
          const handle = await confbulk.bulkAction({
            action: 'unmute',
            target: { conferenceSid: conference.sid },
          });
          const fanoutQueue = new Queue(QUEUE_NAMES.fanout, {
            connection: scene.redis,
            prefix: queuePrefix(scene.prefix, QUEUE_NAMES.fanout),
          });
          try {
            let result: { total: number } | undefined;
            const deadline = Date.now() + 30_000;
            while (!result && Date.now() < deadline) {
              result = (await fanoutQueue.getJob(handle.id))?.returnvalue as typeof result;
              if (!result) await new Promise((r) => setTimeout(r, 25));
            }
            // Its speed (about a second) is measured by `npm run bench` (mass mute).
            expect(result?.total).toBe(10_000);
          } finally {
            await fanoutQueue.close();
          }
          expect(await updates.getJobCountByTypes('waiting', 'delayed', 'prioritized')).toBe(
            10_000,
          );
        });
      },
      { withMock: true },
    );
  });

  it('does not re-create a job whose outcome is recorded when a re-run finds it trimmed', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk, redis, prefix } = scene as Required<Scene>;
        const conference = mock.createConference(account.accountSid, { participants: 3 });
        const keys = new ProducerKeys(prefix);
        const batches = new BatchStore({ redis, keys });
        await withFanout(scene, async (fanout, updates) => {
          const handle = await confbulk.bulkAction({
            action: 'announce',
            target: { conferenceSid: conference.sid },
            params: { AnnounceUrl: 'https://example.com/notice.xml' },
          });
          await eventually(async () => (await confbulk.getBatch(handle.id))?.state === 'running');
          const [done, ...others] = conference.callSids.map((sid) => `${handle.id}.${sid}`);
          // The first job ended and was trimmed from the completed set (removeOnComplete).
          await batches.recordOutcome(handle.id, done as string, 'succeeded');
          await (await updates.getJob(done as string))?.remove();
          // The fan-out runs again, as after a crash before it finished listing.
          await redis.hset(keys.batch(handle.id), 'state', 'listing');
          await fanout.processor(fakeJob(handle.id));
          expect(await updates.getJob(done as string)).toBeUndefined();
          for (const id of others) expect(await updates.getJob(id)).toBeDefined();
          expect(await updates.getJobCountByTypes('waiting', 'delayed', 'prioritized')).toBe(2);
          expect((await confbulk.getBatch(handle.id))?.counts).toMatchObject({
            total: 3,
            succeeded: 1,
            pending: 2,
          });
        });
      },
      { withMock: true },
    );
  });

  it('takes an explicit call list without listing participants', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk } = scene as Required<Scene>;
        const conference = mock.createConference(account.accountSid, { participants: 20 });
        const callSids = conference.callSids.slice(0, 5);
        await withFanout(scene, async (_fanout, updates) => {
          const since = Date.now();
          const handle = await confbulk.bulkAction({
            action: 'hold',
            target: { conferenceSid: conference.sid, callSids, except: [callSids[0] as string] },
          });
          const batch = await waitForState(scene, handle.id, 'running');
          expect(batch.counts.total).toBe(4);
          const ids = (await updates.getJobs(['waiting']))
            .map((j) => j.data.callSid as string)
            .sort();
          expect(ids).toEqual(callSids.slice(1).sort());
          expect(mock.requestLog(since).filter((r) => r.path.includes('/Participants'))).toEqual(
            [],
          );
        });
      },
      { withMock: true },
    );
  });

  it('resolves a conference by friendly name, and fails the batch when none is in progress', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk } = scene as Required<Scene>;
        mock.createConference(account.accountSid, {
          participants: 2,
          friendlyName: 'daily-standup',
          status: 'completed',
        });
        const live = mock.createConference(account.accountSid, {
          participants: 7,
          friendlyName: 'daily-standup',
        });
        await withFanout(scene, async () => {
          const handle = await confbulk.bulkAction({
            action: 'mute',
            target: { conferenceName: 'daily-standup' },
          });
          const batch = await waitForState(scene, handle.id, 'running');
          expect(batch.conferenceSid).toBe(live.sid);
          expect(batch.counts.total).toBe(7);

          const missing = await confbulk.bulkAction({
            action: 'mute',
            target: { conferenceName: 'retro' },
          });
          const failed = await missing.completed({ timeoutMs: 20_000 });
          expect(failed.state).toBe('failed');
          expect(failed.error).toBe("no in-progress conference named 'retro' in space default");
        });
      },
      { withMock: true },
    );
  });

  it('completes at once a batch whose filter matches nobody', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk } = scene as Required<Scene>;
        const conference = mock.createConference(account.accountSid, { participants: 5 });
        await withFanout(scene, async () => {
          const handle = await confbulk.bulkAction({
            action: 'hold-music',
            target: { conferenceSid: conference.sid },
            params: { HoldUrl: 'https://m.example.com/a.mp3' },
          });
          const batch = await handle.completed({ timeoutMs: 20_000 });
          expect(batch).toMatchObject({ state: 'completed', counts: { total: 0, pending: 0 } });
        });
      },
      { withMock: true },
    );
  });

  it('fails the batch at once, with a clear reason, when the conference does not exist', async () => {
    await withScene(
      async (scene) => {
        const { confbulk } = scene;
        await withFanout(scene, async (_fanout, updates) => {
          const ghost = SID(404);
          const handle = await confbulk.bulkAction({
            action: 'mute',
            target: { conferenceSid: ghost },
          });
          const batch = await handle.completed({ timeoutMs: 20_000 });
          expect(batch.state).toBe('failed');
          expect(batch.error).toBe(`conference ${ghost} not found in space default`);
          expect(batch.finishedAt).toBeDefined();
          expect(await updates.count()).toBe(0);
          const fanoutQueue = new Queue(QUEUE_NAMES.fanout, {
            connection: scene.redis,
            prefix: queuePrefix(scene.prefix, QUEUE_NAMES.fanout),
          });
          try {
            expect((await fanoutQueue.getJob(handle.id))?.attemptsMade).toBeLessThanOrEqual(1);
          } finally {
            await fanoutQueue.close();
          }
        });
      },
      { withMock: true },
    );
  });
});

async function waitForState(scene: Scene, id: string, state: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const batch = await scene.confbulk.getBatch(id);
    if (batch?.state === state) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} is ${batch?.state}, not ${state}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
