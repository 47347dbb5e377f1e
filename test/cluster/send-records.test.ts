/**
 * Send records across a failover, on a private Redis Cluster of 3 primaries and 3 replicas
 * (this file freezes a node): an announcement is sent only once a replica of the send
 * records' shard holds its record, so a primary that dies right after the send cannot take
 * the record with it. A frozen replica (SIGSTOP: it neither answers nor replicates) holds
 * the send back; the record is given back, not left behind.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { areaTag } from '../../src/keys.js';
import { createRedis, type RedisConnection } from '../../src/queues.js';
import {
  REPLICATION_WAIT_MS,
  SendRecordNotReplicatedError,
  SendRecords,
  sendRecordKey,
} from '../../src/worker/send-record.js';
import { provisionRedisCluster, type ProvisionedCluster } from '../../scripts/redis-cluster.js';

let cluster: ProvisionedCluster;
let redis: RedisConnection;

beforeAll(async () => {
  cluster = await provisionRedisCluster();
  redis = createRedis({ redisClusterNodes: [cluster.seed] });
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

/** `fn`, tried again for up to 15 s while it throws. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  const end = Date.now() + 15_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** What `node` (a replica) holds at `key`. */
async function onReplica(port: number, key: string): Promise<string | null> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await r.connect();
    await r.call('READONLY');
    return await r.get(key);
  } finally {
    r.disconnect();
  }
}

describe('send records on Redis Cluster', () => {
  it(
    'hands out a record only once a replica holds it; a frozen replica holds the send back',
    { timeout: 60_000 },
    async () => {
      const prefix = `r-${randomBytes(4).toString('hex')}`;
      const records = new SendRecords(redis, prefix);
      const primary = await cluster.primaryFor(areaTag(prefix, 'sends'));
      // On a loaded machine a replica's link can be down a moment (node timeout 1 s): wait
      // until the primary reports one.
      const replica = await retrying(() => cluster.replicaOf(primary));

      // A healthy replica acknowledges within the wait; on a loaded machine a try may still
      // miss it and is given back (what the rule is for), so the take is tried a few times.
      const taken = await retrying(() => records.take('announce-1'));
      expect('ticket' in taken).toBe(true);
      // Acknowledged by the replica before it was handed out: there already, no waiting.
      expect(await onReplica(replica.port, sendRecordKey(prefix, 'announce-1'))).toMatch(
        /^sending:/,
      );

      cluster.freeze(replica);
      try {
        const started = Date.now();
        await expect(records.take('announce-2')).rejects.toBeInstanceOf(
          SendRecordNotReplicatedError,
        );
        expect(Date.now() - started).toBeGreaterThanOrEqual(REPLICATION_WAIT_MS);
        // Given back: the job's next try takes it afresh, and nothing says it may have played.
        expect(await redis.get(sendRecordKey(prefix, 'announce-2'))).toBeNull();
        // For a while after, takes fail at once and write nothing (no queue of waits).
        const quick = Date.now();
        await expect(records.take('announce-3')).rejects.toBeInstanceOf(
          SendRecordNotReplicatedError,
        );
        expect(Date.now() - quick).toBeLessThan(REPLICATION_WAIT_MS);
        expect(await redis.get(sendRecordKey(prefix, 'announce-3'))).toBeNull();
      } finally {
        cluster.thaw(replica);
      }
      const again = await retrying(() => records.take('announce-2'));
      expect('ticket' in again).toBe(true);
      expect(await onReplica(replica.port, sendRecordKey(prefix, 'announce-2'))).toMatch(
        /^sending:/,
      );
      await records.close();
    },
  );
});
