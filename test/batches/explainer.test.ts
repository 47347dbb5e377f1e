/**
 * A batch's reason is read beside the batch; when those reads fail (the shard of the
 * batch's space failing over: a cluster transaction is not retried), the batch still comes
 * back, without a reason, so a wait or a status read does not fail over an aid.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { BatchExplainer } from '../../src/batches/reason/explainer.js';
import { ProducerKeys } from '../../src/keys.js';
import type { RedisConnection } from '../../src/queues.js';
import type { Batch } from '../../src/types.js';
import { freePort } from '../../scripts/redis.js';

describe('BatchExplainer', () => {
  it('returns the batch without a reason when the facts behind it cannot be read', async () => {
    const port = await freePort();
    // Nobody listens there; every command fails at once (no retries, no offline queue).
    const options = {
      host: '127.0.0.1',
      port,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      lazyConnect: true,
    };
    const redis = new Redis(options);
    redis.on('error', () => {});
    const queues: Queue[] = [];
    const explainer = new BatchExplainer({
      redis: redis as RedisConnection,
      keys: new ProducerKeys('explain-test'),
      queue: (name) => {
        const connection = new Redis(options);
        connection.on('error', () => {});
        const q = new Queue(name, { connection });
        q.on('error', () => {});
        queues.push(q);
        return q;
      },
      limitsOf: () => [{ count: 10, durationMs: 1000 }],
    });
    const batch: Batch = {
      id: 'b_1',
      space: 'default',
      action: 'mute',
      state: 'running',
      counts: { total: 3, succeeded: 1, gone: 0, superseded: 0, deadLettered: 0, pending: 2 },
      createdAt: new Date().toISOString(),
      reason: { code: 'rate-limited', message: 'stale', lastTrueAt: new Date().toISOString() },
    } as Batch;
    try {
      const explained = await explainer.explain(batch);
      expect(explained.reason).toBeUndefined();
      expect(explained).toMatchObject({ id: 'b_1', state: 'running', counts: batch.counts });
    } finally {
      redis.disconnect();
      await Promise.all(queues.map((q) => q.close().catch(() => {})));
    }
  });
});
