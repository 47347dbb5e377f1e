/**
 * Dead-letter replays: one job per entry however many replays run at once or crash, a
 * replay of a replay counted against the participant's first job, and ids checked before
 * Redis is asked.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { BatchStore } from '../../src/batches/store.js';
import { validateBulkActionRequest } from '../../src/bulk-actions/request-schema.js';
import { DeadLetters } from '../../src/dead-letters/dead-letters.js';
import type { NewDeadLetter } from '../../src/dead-letters/types.js';
import { ValidationError } from '../../src/errors.js';
import { ParticipantQueues } from '../../src/jobs/enqueue.js';
import { participantJobId, type ParticipantJobData } from '../../src/jobs/participant-job.js';
import { ProducerKeys } from '../../src/keys.js';
import { testRedis } from '../helpers/redis.js';
import { eventually, withScene } from '../producer/support.js';

function letter(data: ParticipantJobData, jobId?: string): NewDeadLetter {
  return {
    jobId: jobId ?? participantJobId(data.batchId, data.callSid),
    job: data,
    reason: 'invalid',
    status: 400,
    code: 21220,
    apiMessage: 'Invalid state',
    attempts: [],
  };
}

function job(batchId: string, conferenceSid: string, callSid = randomUUID()): ParticipantJobData {
  return {
    v: 1,
    space: 'default',
    conferenceSid,
    callSid,
    op: 'update',
    params: { Muted: true },
    batchId,
    intent: 1,
  };
}

/** A producer process of its own: connection, queues and dead letters. */
async function withProcesses<T>(
  prefix: string,
  n: number,
  fn: (processes: DeadLetters[], queues: ParticipantQueues[]) => Promise<T>,
): Promise<T> {
  const connections = Array.from({ length: n }, () => testRedis({ maxRetriesPerRequest: null }));
  const queues = connections.map(
    (connection) => new ParticipantQueues({ connection, prefix, retry: DEFAULTS.retry }),
  );
  const processes = connections.map(
    (connection, i) => new DeadLetters({ connection, prefix, queues: queues[i] }),
  );
  try {
    return await fn(processes, queues);
  } finally {
    for (const p of processes) await p.close();
    for (const q of queues) await q.close().catch(() => {});
    for (const c of connections) c.disconnect();
  }
}

describe('dead-letter replay', () => {
  it('enqueues one job per entry however many processes replay it at once', async () => {
    await withScene(async ({ prefix, redis }) => {
      await withProcesses(prefix, 4, async (processes, queues) => {
        const ids: string[] = [];
        for (let i = 0; i < 12; i++) {
          ids.push(await (processes[0] as DeadLetters).add(letter(job('b1', randomUUID()))));
        }
        // Every process lists the entries, then all of them race for each one.
        const results = await Promise.all(processes.map((p) => p.replay({ all: true })));
        const enqueued = results.flatMap((r) => r.jobIds);
        expect(results.reduce((sum, r) => sum + r.replayed, 0)).toBe(12);
        expect(enqueued.sort()).toEqual(ids.map((id) => `${id}.r1`).sort());
        const jobs = await (queues[0] as ParticipantQueues).queue('default').getJobs(['waiting']);
        expect(jobs.map((j) => j.id).sort()).toEqual(enqueued);
        expect(await (processes[0] as DeadLetters).count()).toBe(0);
        expect(await redis.hlen(new ProducerKeys(prefix).replays())).toBe(0);
        // The processes did race (each listed entries another took), and whoever lost a race
        // was told so and enqueued nothing for that entry.
        const lost = results.flatMap((r) => r.alreadyTaken ?? []);
        expect(lost.length).toBeGreaterThan(0);
        expect(lost.every((id) => ids.includes(id))).toBe(true);
      });
    });
  });

  it('finishes a replay whose process stopped after taking the entry, once', async () => {
    await withScene(async ({ prefix, redis }) => {
      await withProcesses(prefix, 2, async ([crashing, sweeper], queues) => {
        const id = await (sweeper as DeadLetters).add(letter(job('b1', randomUUID())));
        // The process takes the entry, then cannot enqueue (its queues are gone).
        await (queues[0] as ParticipantQueues).close();
        await expect((crashing as DeadLetters).replay({ ids: [id] })).rejects.toThrow(/closed/);
        expect(await (sweeper as DeadLetters).count()).toBe(0);
        const updates = (queues[1] as ParticipantQueues).queue('default');
        expect(await updates.getJob(`${id}.r1`)).toBeUndefined();

        // A recent record is left to the process that wrote it; an older one is finished.
        expect(await (sweeper as DeadLetters).finishPendingReplays(60_000)).toBe(0);
        expect(await (sweeper as DeadLetters).finishPendingReplays(0)).toBe(1);
        expect((await updates.getJob(`${id}.r1`))?.data).toMatchObject({ replayOf: id });
        expect(await (sweeper as DeadLetters).finishPendingReplays(0)).toBe(0);
        expect(await updates.getJobs(['waiting'])).toHaveLength(1);
        expect(await redis.hlen(new ProducerKeys(prefix).replays())).toBe(0);
      });
    });
  });

  it('does not send a replay again that ended before its record was settled', async () => {
    await withScene(async ({ prefix, redis, config }) => {
      const batches = new BatchStore({ redis, keys: new ProducerKeys(prefix) });
      const conferenceSid = randomUUID();
      const [a, b] = [randomUUID(), randomUUID()];
      const { batch } = await batches.create(
        validateBulkActionRequest(config, { action: 'mute', target: { conferenceSid } }),
      );
      await batches.addMembers(batch, conferenceSid, ['Muted'], [a, b]);
      await batches.finishListing(batch.id);
      const key = participantJobId(batch.id, a);
      await batches.recordOutcome(batch.id, key, 'dead_lettered');
      await batches.recordOutcome(batch.id, participantJobId(batch.id, b), 'succeeded');
      expect((await batches.get(batch.id))?.state).toBe('completed');

      await withProcesses(prefix, 2, async ([crashing, sweeper], queues) => {
        const id = await (sweeper as DeadLetters).add(letter(job(batch.id, conferenceSid, a)));
        await (queues[0] as ParticipantQueues).close();
        await expect((crashing as DeadLetters).replay({ ids: [id] })).rejects.toThrow(/closed/);
        // Taken: the participant is pending again and the batch runs until the replay ends.
        expect(await batches.get(batch.id)).toMatchObject({
          state: 'running',
          counts: { total: 2, succeeded: 1, deadLettered: 0, pending: 1 },
        });

        // Its job was enqueued after all, ran, ended and was trimmed, but the record stayed.
        const updates = (queues[1] as ParticipantQueues).queue('default');
        await (queues[1] as ParticipantQueues).addReplayJob(
          { ...job(batch.id, conferenceSid, a), replayOf: key },
          `${key}.r1`,
        );
        const ended = await batches.recordOutcome(batch.id, key, 'succeeded');
        expect(ended).toMatchObject({ recorded: true, completed: true });
        await updates.remove(`${key}.r1`);

        expect(await (sweeper as DeadLetters).finishPendingReplays(0)).toBe(1);
        expect(await updates.getJob(`${key}.r1`)).toBeUndefined();
        expect(await redis.hlen(new ProducerKeys(prefix).replays())).toBe(0);
        expect(await batches.get(batch.id)).toMatchObject({
          state: 'completed',
          counts: { total: 2, succeeded: 2, deadLettered: 0, pending: 0 },
        });
      });
    });
  });

  it('has a worker finish a replay left halfway, without anyone replaying again', async () => {
    await withScene(
      async ({ prefix, redis, confbulk, mock, account, startWorkers }) => {
        if (!mock || !account) throw new Error('scene without mock');
        const conference = mock.createConference(account.accountSid, { participants: 3 });
        const [rejected] = conference.callSids as [string];
        mock.setFaults({ rejectCalls: { [rejected]: { status: 400, code: 21220 } } });
        const workers = await startWorkers();
        const handle = await confbulk.bulkAction({
          action: 'mute',
          target: { conferenceSid: conference.sid },
        });
        expect((await handle.completed({ timeoutMs: 10_000 })).counts.deadLettered).toBe(1);
        mock.setFaults({ rejectCalls: { [rejected]: null } });
        const original = participantJobId(handle.id, rejected);
        await withProcesses(prefix, 1, async ([crashing], [closed]) => {
          await (closed as ParticipantQueues).close();
          await expect((crashing as DeadLetters).replay({ ids: [original] })).rejects.toThrow(
            /closed/,
          );
        });
        // As if the process stopped a minute ago.
        const replays = new ProducerKeys(prefix).replays();
        const record = (await redis.hget(replays, original)) ?? '';
        const [id, json] = [
          record.slice(0, record.indexOf(' ')),
          record.slice(record.indexOf(' ') + 1),
        ];
        const aged = { ...(JSON.parse(json) as object), takenAt: Date.now() - 60_000 };
        await redis.hset(replays, original, `${id} ${JSON.stringify(aged)}`);

        await eventually(
          async () => (await confbulk.getBatch(handle.id))?.state === 'completed',
          15_000,
        );
        expect((await confbulk.getBatch(handle.id))?.counts).toMatchObject({
          total: 3,
          succeeded: 3,
          deadLettered: 0,
          pending: 0,
        });
        expect(id).toBe(`${original}.r1`);
        expect((await workers.queues.queue('default').getJob(id))?.data.replayOf).toBe(original);
        expect(mock.participants(conference.sid).every((p) => p.muted)).toBe(true);
        expect(await redis.hlen(replays)).toBe(0);
      },
      { withMock: true },
    );
  });

  it('counts a replay of a replay against the first job: exact counts, completed only when nothing is pending', async () => {
    await withScene(
      async ({ prefix, redis, confbulk, mock, account, startWorkers }) => {
        if (!mock || !account) throw new Error('scene without mock');
        const conference = mock.createConference(account.accountSid, { participants: 4 });
        const [rejected] = conference.callSids as [string];
        mock.setFaults({
          rejectCalls: { [rejected]: { status: 400, code: 21220, message: 'Invalid state' } },
        });
        let workers = await startWorkers();
        const queues = new ParticipantQueues({ connection: redis, prefix, retry: DEFAULTS.retry });
        const dlq = new DeadLetters({ connection: redis, prefix, queues });
        try {
          const handle = await confbulk.bulkAction({
            action: 'mute',
            target: { conferenceSid: conference.sid },
          });
          const first = await handle.completed({ timeoutMs: 10_000 });
          expect(first.counts).toEqual({
            total: 4,
            succeeded: 3,
            gone: 0,
            superseded: 0,
            deadLettered: 1,
            pending: 0,
          });
          const original = participantJobId(handle.id, rejected);
          expect((await dlq.list()).map((e) => e.id)).toEqual([original]);

          // The replay fails the same way; held until the workers are back, it is pending.
          await workers.stop();
          expect(await dlq.replay({ ids: [original] })).toEqual({
            replayed: 1,
            jobIds: [`${original}.r1`],
          });
          expect(await confbulk.getBatch(handle.id)).toMatchObject({
            state: 'running',
            counts: { total: 4, succeeded: 3, deadLettered: 0, pending: 1 },
          });
          workers = await startWorkers();
          await eventually(async () => (await dlq.count()) === 1);
          const [again] = await dlq.list();
          expect(again).toMatchObject({ id: `${original}.r1`, job: { replayOf: original } });
          await eventually(async () => (await confbulk.getBatch(handle.id))?.state === 'completed');
          expect((await confbulk.getBatch(handle.id))?.counts).toEqual(first.counts);

          // The replay of the replay succeeds and replaces the first job's dead letter.
          mock.setFaults({ rejectCalls: { [rejected]: null } });
          await workers.stop();
          expect(await dlq.replay({ ids: [`${original}.r1`] })).toEqual({
            replayed: 1,
            jobIds: [`${original}.r2`],
          });
          const replayJob = await queues.queue('default').getJob(`${original}.r2`);
          expect(replayJob?.data.replayOf).toBe(original);
          expect(await confbulk.getBatch(handle.id)).toMatchObject({
            state: 'running',
            counts: { total: 4, succeeded: 3, deadLettered: 0, pending: 1 },
          });
          workers = await startWorkers();
          await eventually(async () => (await confbulk.getBatch(handle.id))?.state === 'completed');
          expect((await confbulk.getBatch(handle.id))?.counts).toEqual({
            total: 4,
            succeeded: 4,
            gone: 0,
            superseded: 0,
            deadLettered: 0,
            pending: 0,
          });
          expect(await dlq.count()).toBe(0);
          expect(mock.participants(conference.sid).every((p) => p.muted)).toBe(true);
        } finally {
          await workers.stop();
          await dlq.close();
          await queues.close();
        }
      },
      { withMock: true },
    );
  });

  it('checks dead-letter ids before asking Redis, naming the field', async () => {
    // Nothing listens on port 1: a command would fail with a connection error, not this one.
    const offline = new Redis({
      host: '127.0.0.1',
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    offline.on('error', () => {});
    const queues = new ParticipantQueues({
      connection: offline,
      prefix: 'never',
      retry: DEFAULTS.retry,
    });
    const dlq = new DeadLetters({ connection: offline, prefix: 'never', queues });
    try {
      const sid = randomUUID();
      for (const id of [
        'meta',
        'id',
        'events',
        'wait',
        'b1',
        `b1:${sid}`,
        `${sid}`,
        `b 1.${sid}`,
      ]) {
        await expect(dlq.get(id)).rejects.toThrow(
          new ValidationError(
            `id: '${id}' is not a dead-letter id; an id looks like <batch id>.<call SID>, with .r<n> for a replay (as dlq list shows)`,
            'id',
          ),
        );
        await expect(dlq.replay({ ids: [`b1.${sid}`, id] })).rejects.toMatchObject({
          name: 'ValidationError',
          field: 'ids[1]',
        });
        await expect(dlq.purge({ ids: [id] })).rejects.toMatchObject({ field: 'ids[0]' });
      }
    } finally {
      await dlq.close().catch(() => {});
      await queues.close().catch(() => {});
      offline.disconnect();
    }
  });
});
