/**
 * Batches: outcomes count exactly once per job whatever the concurrency and duplicates,
 * a replay turns a dead letter into another outcome, a batch completes when its total is
 * known and nothing is pending, and an idempotency key returns the same batch.
 */
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { participantJobId } from '../../src/jobs/participant-job.js';
import { silentLogger } from '../../src/logger.js';
import { QUEUE_NAMES } from '../../src/queues.js';
import { BatchStore } from '../../src/batches/store.js';
import { CompletionNotifier } from '../../src/batches/completion.js';
import { BatchWaitTimeoutError } from '../../src/producer/errors.js';
import { IntentStore } from '../../src/intents/intents.js';
import { ProducerKeys, queuePrefix } from '../../src/keys.js';
import { validateBulkActionRequest } from '../../src/bulk-actions/request-schema.js';
import type { Batch } from '../../src/types.js';
import type { JobOutcome } from '../../src/worker/types.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import { SID, withScene } from '../producer/support.js';

const CONF = SID(1);

describe('batches', () => {
  it('counts every job once under concurrent, duplicated outcome reports', async () => {
    await withScene(async ({ redis, prefix, config, confbulk }) => {
      const batches = new BatchStore({ redis, keys: new ProducerKeys(prefix) });
      const { batch } = await batches.create(
        validateBulkActionRequest(config, { action: 'mute', target: { conferenceSid: CONF } }),
      );
      const sids = Array.from({ length: 400 }, (_, i) => SID(100 + i));
      await batches.addMembers(batch, CONF, ['Muted'], sids);
      await batches.finishListing(batch.id);
      const outcomeOf = (i: number): JobOutcome =>
        (['succeeded', 'gone', 'superseded', 'dead_lettered'] as const)[i % 4] ?? 'succeeded';
      // Every job reports three times (crash re-runs), all at once, in shuffled order.
      const reports = sids.flatMap((sid, i) =>
        [0, 1, 2].map(
          () => () =>
            batches.recordOutcome(batch.id, participantJobId(batch.id, sid), outcomeOf(i)),
        ),
      );
      reports.sort(() => Math.random() - 0.5);
      const results = await Promise.all(reports.map((r) => r()));
      expect(results.filter((r) => r.recorded)).toHaveLength(400);
      expect(results.filter((r) => r.completed)).toHaveLength(1);
      const done = await confbulk.getBatch(batch.id);
      expect(done?.state).toBe('completed');
      expect(done?.counts).toEqual({
        total: 400,
        succeeded: 100,
        gone: 100,
        superseded: 100,
        deadLettered: 100,
        pending: 0,
      });
      expect(done?.finishedAt).toBeDefined();
    });
  });

  it("records outcomes of several batches reported together, and lets each job's claim go with it", async () => {
    await withScene(async ({ redis, prefix, config, confbulk }) => {
      const keys = new ProducerKeys(prefix);
      const batches = new BatchStore({ redis, keys });
      const intents = new IntentStore({ redis, keys });
      const create = async (action: 'mute' | 'hold', sids: string[]): Promise<Batch> => {
        const { batch } = await batches.create(
          validateBulkActionRequest(config, { action, target: { conferenceSid: CONF } }),
        );
        await batches.addMembers(batch, CONF, [action === 'mute' ? 'Muted' : 'Hold'], sids);
        await batches.finishListing(batch.id);
        return (await batches.get(batch.id)) as Batch;
      };
      const muteSids = [SID(2), SID(3)];
      const mute = await create('mute', muteSids);
      const hold = await create('hold', [SID(4)]);
      const jobOf = (batch: Batch, callSid: string) =>
        [
          {
            v: 1 as const,
            space: 'default',
            conferenceSid: CONF,
            callSid,
            op: batch.op,
            params: batch.params,
            batchId: batch.id,
            intent: batch.intent,
          },
          participantJobId(batch.id, callSid),
        ] as const;
      const jobs = [...muteSids.map((sid) => jobOf(mute, sid)), jobOf(hold, SID(4))];
      for (const [job, id] of jobs) await intents.beforeSend(job, id);
      const inFlight = muteSids.map((sid) => keys.inFlight(CONF, sid));
      expect(await redis.exists(...inFlight)).toBe(2);

      // One turn of the event loop: one script call for all of them, and an unknown batch.
      const results = await Promise.all([
        ...jobs.map(([job, id]) =>
          batches.recordOutcome(job.batchId, id, 'succeeded', {
            release: intents.claimOf(job, id),
          }),
        ),
        batches.recordOutcome('b_gone', 'b_gone.x', 'succeeded'),
      ]);
      expect(results).toEqual([
        { recorded: true, completed: false, unknownBatch: false },
        { recorded: true, completed: true, unknownBatch: false },
        { recorded: true, completed: true, unknownBatch: false },
        { recorded: false, completed: false, unknownBatch: true },
      ]);
      expect(await redis.exists(...inFlight, keys.inFlight(CONF, SID(4)))).toBe(0);
      expect((await confbulk.getBatch(mute.id))?.counts).toMatchObject({
        total: 2,
        succeeded: 2,
        pending: 0,
      });
      expect((await confbulk.getBatch(hold.id))?.state).toBe('completed');
      await expect(batches.recordOutcome(mute.id, 'x', 'maybe' as JobOutcome)).rejects.toThrow(
        'unknown outcome maybe',
      );
    });
  });

  it('keeps the first outcome of a job key, a dead letter too: only a replay reopens it', async () => {
    await withScene(async ({ redis, prefix, config }) => {
      const batches = new BatchStore({ redis, keys: new ProducerKeys(prefix) });
      const { batch } = await batches.create(
        validateBulkActionRequest(config, { action: 'unmute', target: { conferenceSid: CONF } }),
      );
      await batches.addMembers(batch, CONF, ['Muted'], [SID(2), SID(3)]);
      await batches.finishListing(batch.id);
      const key = participantJobId(batch.id, SID(2));
      await batches.recordOutcome(batch.id, key, 'dead_lettered');
      await batches.recordOutcome(batch.id, participantJobId(batch.id, SID(3)), 'succeeded');
      // A late report for the same key (a stalled job run again) changes nothing; the dead
      // letter stays counted until it is replayed (test/dead-letters/replay.test.ts).
      for (const late of ['succeeded', 'gone', 'dead_lettered'] as const) {
        expect((await batches.recordOutcome(batch.id, key, late)).recorded).toBe(false);
      }
      const after = await batches.get(batch.id);
      expect(after?.counts).toEqual({
        total: 2,
        succeeded: 1,
        gone: 0,
        superseded: 0,
        deadLettered: 1,
        pending: 0,
      });
      expect(after?.state).toBe('completed');
    });
  });

  it('does not complete while listing, even when every job so far has ended', async () => {
    await withScene(async ({ redis, prefix, config }) => {
      const batches = new BatchStore({ redis, keys: new ProducerKeys(prefix) });
      const { batch } = await batches.create(
        validateBulkActionRequest(config, { action: 'mute', target: { conferenceSid: CONF } }),
      );
      await batches.addMembers(batch, CONF, ['Muted'], [SID(2)]);
      const first = await batches.recordOutcome(
        batch.id,
        participantJobId(batch.id, SID(2)),
        'succeeded',
      );
      expect(first.completed).toBe(false);
      expect((await batches.get(batch.id))?.state).toBe('listing');
      // A re-run of the fan-out adds the same member again: the total does not double.
      await batches.addMembers(batch, CONF, ['Muted'], [SID(2), SID(3)]);
      expect((await batches.get(batch.id))?.counts.total).toBe(2);
      await batches.finishListing(batch.id);
      expect((await batches.get(batch.id))?.state).toBe('running');
      const last = await batches.recordOutcome(
        batch.id,
        participantJobId(batch.id, SID(3)),
        'gone',
      );
      expect(last.completed).toBe(true);
    });
  });

  it('returns the existing batch for a repeated idempotency key, with one fan-out job', async () => {
    await withScene(async ({ confbulk, redis, prefix }) => {
      const request = {
        action: 'mute' as const,
        target: { conferenceSid: CONF },
        idempotencyKey: 'standup-2030-01-31:mute',
      };
      const first = await confbulk.bulkAction(request);
      const again = await Promise.all([confbulk.bulkAction(request), confbulk.bulkAction(request)]);
      expect(first.created).toBe(true);
      expect(again.map((h) => h.created)).toEqual([false, false]);
      expect(again.map((h) => h.id)).toEqual([first.id, first.id]);
      const other = await confbulk.bulkAction({ ...request, idempotencyKey: 'another' });
      expect(other.id).not.toBe(first.id);
      expect(other.batch.intent).toBeGreaterThan(first.batch.intent);
      const fanout = new Queue(QUEUE_NAMES.fanout, {
        connection: redis,
        prefix: queuePrefix(prefix, QUEUE_NAMES.fanout),
      });
      try {
        expect(await fanout.getJobCountByTypes('waiting', 'delayed', 'active')).toBe(2);
        expect((await fanout.getJob(first.id))?.data).toEqual({ batchId: first.id });
      } finally {
        await fanout.close();
      }
      expect((await confbulk.listBatches()).map((b) => b.id)).toEqual([other.id, first.id]);
    });
  });

  it('waits for the end: resolves on the event, reports progress, times out cleanly', async () => {
    await withScene(async ({ redis, prefix, config, confbulk }) => {
      const batches = new BatchStore({ redis, keys: new ProducerKeys(prefix) });
      const { batch } = await batches.create(
        validateBulkActionRequest(config, { action: 'mute', target: { conferenceSid: CONF } }),
      );
      await batches.addMembers(batch, CONF, ['Muted'], [SID(2)]);
      await batches.finishListing(batch.id);
      const timeout = await confbulk
        .waitForBatch(batch.id, { timeoutMs: 100 })
        .catch((e: unknown) => e);
      expect(timeout).toBeInstanceOf(BatchWaitTimeoutError);

      // A slow poll, so that only the event can end the wait quickly.
      const slow = await createConfbulk({ config, connection: redis, pollMs: 5000 });
      const webhooks = new Queue('webhooks', {
        connection: redis,
        prefix: queuePrefix(prefix, 'webhooks'),
      });
      try {
        const seen: number[] = [];
        const waiting = slow.waitForBatch(batch.id, {
          onProgress: (b) => seen.push(b.counts.pending),
        });
        await new Promise((r) => setTimeout(r, 100));
        const notifier = new CompletionNotifier({
          redis,
          keys: new ProducerKeys(prefix),
          batches,
          webhooks,
          logger: silentLogger,
        });
        const started = Date.now();
        await batches.recordOutcome(batch.id, participantJobId(batch.id, SID(2)), 'succeeded');
        await notifier.notify(batch.id);
        const done = await waiting;
        expect(done.state).toBe('completed');
        expect(Date.now() - started).toBeLessThan(2500);
        expect(seen[0]).toBe(1);
        expect(seen.at(-1)).toBe(0);
      } finally {
        await webhooks.close();
        await slow.close();
      }
      await expect(confbulk.waitForBatch('b_missing')).rejects.toThrow(
        /batch 'b_missing' not found/,
      );
    });
  });

  it('sweeps up the notification of a batch whose worker died right after ending it', async () => {
    await withScene(async ({ redis, prefix, config }) => {
      const keys = new ProducerKeys(prefix);
      const batches = new BatchStore({ redis, keys });
      const request = {
        action: 'mute',
        target: { conferenceSid: CONF },
        webhookUrl: 'https://hooks.example.com/confbulk',
      };
      const { batch } = await batches.create(validateBulkActionRequest(config, request));
      await batches.addMembers(batch, CONF, ['Muted'], [SID(2)]);
      await batches.finishListing(batch.id);
      // The worker ends the batch and dies before notifying anyone.
      expect(
        (await batches.recordOutcome(batch.id, participantJobId(batch.id, SID(2)), 'succeeded'))
          .completed,
      ).toBe(true);
      const webhooks = new Queue('webhooks', {
        connection: redis,
        prefix: queuePrefix(prefix, 'webhooks'),
      });
      const notifier = new CompletionNotifier({
        redis,
        keys,
        batches,
        webhooks,
        logger: silentLogger,
        overdueMs: 0,
      });
      const events: string[] = [];
      const subscriber = redis.duplicate();
      try {
        await subscriber.subscribe(keys.events());
        subscriber.on('message', (_channel: string, message: string) => events.push(message));
        await notifier.sweep();
        await notifier.sweep(); // acknowledged: nothing left to do
        await new Promise((r) => setTimeout(r, 100));
        expect(events.map((e) => JSON.parse(e) as unknown)).toEqual([
          { event: 'batch.completed', id: batch.id, state: 'completed' },
        ]);
        expect((await webhooks.getJob(`webhook.${batch.id}`))?.data).toEqual({ batchId: batch.id });
        expect(await redis.zcard(keys.completions())).toBe(0);
      } finally {
        subscriber.disconnect();
        await webhooks.close();
      }
    });
  });

  it('rejects a bad list limit', async () => {
    await withScene(async ({ confbulk }) => {
      await expect(confbulk.listBatches({ limit: 0 })).rejects.toThrow(
        'limit: must be a whole number from 1 to 1000',
      );
    });
  });
});
