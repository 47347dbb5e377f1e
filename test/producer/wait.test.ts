/**
 * Waiting for a batch when its events cannot be subscribed to: the wait must not hang on
 * the subscription (Redis unreachable for the subscriber, a cluster that lost the node it
 * was given); it polls, sees the end, and keeps its deadline.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { BatchStore } from '../../src/batches/store.js';
import { ProducerKeys } from '../../src/keys.js';
import { silentLogger } from '../../src/logger.js';
import { BatchWaiter } from '../../src/producer/wait.js';
import type { RedisConnection } from '../../src/queues.js';
import { BatchUnreadableError, BatchWaitTimeoutError } from '../../src/producer/errors.js';
import { freePort } from '../../scripts/redis.js';
import { until } from '../worker/support/stack.js';
import { withScene } from './support.js';

describe('BatchWaiter', () => {
  it('polls when its subscription never comes: sees the end, and a running batch times out on time', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk, prefix } = scene as Required<typeof scene>;
        const conf = mock.createConference(account.accountSid, { participants: 3 });
        const workers = await scene.startWorkers();
        const done = await confbulk.bulkAction({
          action: 'mute',
          target: { conferenceSid: conf.sid },
        });
        await done.completed({ timeoutMs: 20_000 });
        await workers.stop();
        // The subscriber goes to a port nobody listens on, retrying for ever (as BullMQ's
        // connections are set up: no retry limit per request).
        const dead = await freePort();
        const subscribers: Redis[] = [];
        const unreachable = {
          duplicate: () => {
            const r = new Redis({ host: '127.0.0.1', port: dead, maxRetriesPerRequest: null });
            r.on('error', () => {});
            subscribers.push(r);
            return r;
          },
        } as unknown as RedisConnection;
        const keys = new ProducerKeys(prefix);
        const waiter = new BatchWaiter({
          redis: unreachable,
          keys,
          batches: new BatchStore({ redis: scene.redis, keys }),
          logger: silentLogger,
          pollMs: 50,
        });
        try {
          const ended = await waiter.wait(done.id, { timeoutMs: 10_000 });
          expect(ended.state).toBe('completed');
          // A batch that does not end (no workers run now): the wait gives up at its deadline, not at the
          // subscription's whim.
          mock.createConference(account.accountSid, { participants: 1, friendlyName: 'held' });
          const running = await confbulk.bulkAction({
            action: 'mute',
            target: { conferenceName: 'held' },
          });
          const started = Date.now();
          await expect(waiter.wait(running.id, { timeoutMs: 300 })).rejects.toBeInstanceOf(
            BatchWaitTimeoutError,
          );
          expect(Date.now() - started).toBeLessThan(5_000);
        } finally {
          await waiter.close();
          for (const s of subscribers) s.disconnect();
        }
      },
      { withMock: true },
    );
  });

  it('goes on waiting through reads that meet a failover, and fails at once on other errors', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk, prefix } = scene as Required<typeof scene>;
        const conf = mock.createConference(account.accountSid, { participants: 3 });
        const handle = await confbulk.bulkAction({
          action: 'mute',
          target: { conferenceSid: conf.sid },
        });
        const keys = new ProducerKeys(prefix);
        // The reads of a poll (the batch, then its reason) fail as a cluster transaction on a
        // shard that just died does: the first three polls, while the workers are not up.
        let failures = 0;
        const waiter = new BatchWaiter({
          redis: scene.redis,
          keys,
          batches: new BatchStore({ redis: scene.redis, keys }),
          logger: silentLogger,
          pollMs: 50,
          explain: (batch) => {
            if (failures >= 3) return Promise.resolve(batch);
            failures += 1;
            return Promise.reject(new Error('Connection is closed.'));
          },
        });
        try {
          const waiting = waiter.wait(handle.id, { timeoutMs: 20_000 });
          await until(() => failures === 3);
          await scene.startWorkers();
          expect((await waiting).state).toBe('completed');
          // Any other error is the caller's at once.
          const broken = new BatchWaiter({
            redis: scene.redis,
            keys,
            batches: new BatchStore({ redis: scene.redis, keys }),
            logger: silentLogger,
            explain: () => Promise.reject(new Error('WRONGTYPE Operation against a key')),
          });
          await expect(broken.wait(handle.id, { timeoutMs: 5_000 })).rejects.toThrow(/WRONGTYPE/);
          await broken.close();
        } finally {
          await waiter.close();
        }
      },
      { withMock: true },
    );
  });

  it('keeps its deadline when Redis never answers its reads', async () => {
    const dead = await freePort();
    // Commands queue for ever while it reconnects (no retry limit per request).
    const unanswering = new Redis({ host: '127.0.0.1', port: dead, maxRetriesPerRequest: null });
    unanswering.on('error', () => {});
    const keys = new ProducerKeys('wait-test');
    const waiter = new BatchWaiter({
      redis: unanswering,
      keys,
      batches: new BatchStore({ redis: unanswering, keys }),
      logger: silentLogger,
      pollMs: 50,
    });
    try {
      const started = Date.now();
      await expect(waiter.wait('b_unreadable', { timeoutMs: 1500 })).rejects.toBeInstanceOf(
        BatchUnreadableError,
      );
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await waiter.close();
      unanswering.disconnect();
    }
  });
});
