/**
 * A batch whose jobs were lost (as a Redis failover that promotes a replica without them
 * loses them: the updates queue empty, the batch's bookkeeping still counting participants
 * pending) is repaired by the workers: its pending members are queued again and it ends,
 * every participant muted once the repair ran.
 */
import { describe, expect, it } from 'vitest';
import { startWorkerStack } from '../../src/worker/stack.js';
import { eventually, withScene, type Scene } from '../producer/support.js';

describe('lost jobs repair', () => {
  it(
    'queues again the pending members of a batch whose jobs are gone, and the batch completes',
    { timeout: 60_000 },
    async () => {
      await withScene(
        async (scene) => {
          const { mock, account, confbulk, config } = scene as Required<Scene>;
          const conference = mock.createConference(account.accountSid, { participants: 30 });
          const connection = scene.redis.duplicate();
          const stack = await startWorkerStack({
            config,
            connection,
            repairQuietMs: 300,
            stalled: { lockDurationMs: 5000, stalledIntervalMs: 2000 },
          });
          try {
            // Jobs are queued but not taken: the space's queue is paused.
            const queue = stack.queues.queue('default');
            await queue.pause();
            const handle = await confbulk.bulkAction({
              action: 'mute',
              target: { conferenceSid: conference.sid },
            });
            await eventually(async () => {
              const b = await confbulk.getBatch(handle.id);
              return b?.state === 'running' && b.counts.pending === 30;
            }, 20_000);
            // The loss: every job of the queue gone, the batch still counting 30 pending.
            await queue.obliterate({ force: true });
            expect(await queue.getJobCounts()).toMatchObject({ waiting: 0, active: 0, delayed: 0 });
            expect(mock.counters().appliedUpdates).toBe(0);
            const done = await handle.completed({ timeoutMs: 30_000 });
            expect(done.state).toBe('completed');
            expect(done.counts).toMatchObject({ total: 30, succeeded: 30, pending: 0 });
            expect(mock.participants(conference.sid).every((p) => p.muted)).toBe(true);
            expect(mock.counters().appliedUpdates).toBe(30);
          } finally {
            await stack.close(3000).catch(() => {});
            connection.disconnect();
          }
        },
        { withMock: true },
      );
    },
  );
});
