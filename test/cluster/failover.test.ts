/**
 * confbulk on a real Redis Cluster of 3 primaries and 3 replicas (scripts/redis-cluster.ts,
 * a private one: this file kills its nodes), reached through ONE seed node as
 * `REDIS_CLUSTER_NODES` names it. Two spaces are muted at the same time; each space's keys
 * must sit under its own hash tag, checked in the cluster itself (CLUSTER KEYSLOT and a
 * SCAN of every primary); then the primary serving one space is killed with SIGKILL in the
 * middle of its batch, its replica takes over, and both batches must complete with every
 * participant muted, one batch per request and nothing dead-lettered.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type ConfbulkConfig, type SpaceConfig } from '../../src/config.js';
import { areaTag, keyPattern, spaceTag } from '../../src/keys.js';
import { mockSpaceProfile, startMock, type MockServer } from '../../src/mock/index.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import { createRedis, primaries, scanAll, type RedisConnection } from '../../src/queues.js';
import type { Batch } from '../../src/types.js';
import { startWorkerStack, type WorkerStack } from '../../src/worker/stack.js';
import { provisionRedisCluster, type ProvisionedCluster } from '../../scripts/redis-cluster.js';

const PARTICIPANTS = 1500;
const SPACES = ['alpha', 'beta'] as const;

let cluster: ProvisionedCluster;

async function keyslot(redis: RedisConnection, key: string): Promise<number> {
  return (await redis.cluster('KEYSLOT', key)) as number;
}

/**
 * A prefix whose two space tags are served by two different primaries, alpha's by the
 * seed node itself: the node killed below is the only one the configuration names.
 */
async function prefixOnTwoShards(redis: RedisConnection): Promise<string> {
  for (;;) {
    const prefix = `t-${randomBytes(4).toString('hex')}`;
    const [a, b] = await Promise.all(
      SPACES.map((s) => cluster.primaryFor(spaceTag(prefix, s)).then((n) => n.port)),
    );
    if (a === cluster.nodes[0]?.port && a !== b) {
      // Sanity: the cluster hashes the tag, not the whole key.
      expect(await keyslot(redis, `${spaceTag(prefix, 'alpha')}:x`)).toBe(
        await keyslot(redis, spaceTag(prefix, 'alpha')),
      );
      return prefix;
    }
  }
}

function configFor(mock: MockServer, prefix: string): ConfbulkConfig {
  const spaces = new Map<string, SpaceConfig>(
    SPACES.map((name): [string, SpaceConfig] => [
      name,
      {
        ...mockSpaceProfile(mock, mock.createAccount()),
        name,
        // Slow enough that the kill lands mid-batch: about 3 s per batch.
        rateLimits: [{ count: 500, durationMs: 1000 }],
      },
    ]),
  );
  return {
    ...DEFAULTS,
    redisUrl: undefined,
    redisClusterNodes: [cluster.seed],
    prefix,
    spaces,
    concurrency: 50,
    retry: { quickRetries: 1, attempts: 10, backoffBaseMs: 100, backoffMaxMs: 1000 },
    requestTimeoutMs: 5000,
    shutdownTimeoutMs: 5000,
  };
}

/**
 * What each space's limiter, updates queue and worker, and each node of the cluster, look
 * like now (for a stall's message).
 */
async function diagnose(stack: WorkerStack, config: ConfbulkConfig): Promise<string> {
  const out: Record<string, unknown> = {};
  for (const space of SPACES) {
    const queue = stack.queues.queue(space);
    const worker = stack.runtime.workers.find((w) => w.name === `updates.${space}`);
    out[space] = {
      limiter: stack.runtime.limiters.get(space)?.stats(),
      circuit: stack.runtime.circuits.get(space)?.isOpen() ? 'not closed' : 'closed',
      jobs: await queue.getJobCounts().catch((e: unknown) => String(e)),
      active: (await queue.getActive().catch(() => [])).map((j) => ({
        id: j.id,
        attemptsMade: j.attemptsMade,
        processedOn: j.processedOn,
      })),
      worker: worker && { running: worker.isRunning(), concurrency: worker.concurrency },
      updatesPerJob: config.updatesPerJob,
    };
  }
  return `${JSON.stringify(out)}\n${await cluster.describe()}`;
}

describe('Redis Cluster (3 primaries + 3 replicas), one seed node', () => {
  it(
    'mutes two spaces at once, each under its own tag; a primary killed -9 mid-batch: both complete, everyone muted',
    { timeout: 120_000 },
    async () => {
      cluster = await provisionRedisCluster();
      const mock = await startMock({ rateLimit: null });
      const probe = createRedis({ redisClusterNodes: [cluster.seed] });
      let stack: WorkerStack | undefined;
      let connection: RedisConnection | undefined;
      const prefix = await prefixOnTwoShards(probe);
      const config = configFor(mock, prefix);
      const confbulk = await createConfbulk({ config });
      try {
        connection = createRedis(config);
        stack = await startWorkerStack({
          config,
          connection,
          stalled: { lockDurationMs: 5000, stalledIntervalMs: 2000 },
        });
        const conferences = SPACES.map((space) =>
          mock.createConference(config.spaces.get(space)!.projectId, {
            participants: PARTICIPANTS,
          }),
        );
        const handles = await Promise.all(
          SPACES.map((space, i) =>
            confbulk.bulkAction({
              action: 'mute',
              space,
              target: { conferenceSid: conferences[i]!.sid },
            }),
          ),
        );

        // Mid-batch: alpha has sent some of its requests, not all.
        for (;;) {
          const batch = (await confbulk.getBatch(handles[0]!.id)) as Batch;
          if (batch.counts.succeeded >= 300) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const beforeKill = (await confbulk.getBatch(handles[0]!.id)) as Batch;
        expect(beforeKill.state).toBe('running');
        expect(beforeKill.counts.pending).toBeGreaterThan(0);

        // Each space's keys live under its own tag, on the shard that serves that tag.
        const keys = await scanAll(probe, keyPattern(prefix));
        for (const space of SPACES) {
          const tag = spaceTag(prefix, space);
          const own = keys.filter((k) => k.startsWith(tag));
          // Its updates queue (BullMQ) and its rate limiter at least.
          expect(own.some((k) => k.includes(`updates.${space}:`))).toBe(true);
          expect(own.some((k) => k.includes(':data:ratelimit'))).toBe(true);
          const slot = await keyslot(probe, tag);
          for (const k of own.slice(0, 50)) expect(await keyslot(probe, k)).toBe(slot);
          const owner = await cluster.primaryFor(tag);
          const node = primaries(probe).find((n) => n.options.port === owner.port);
          expect(node, `a connection to the primary of ${tag}`).toBeDefined();
          const [, onOwner] = await node!.scan('0', 'MATCH', `${tag}*`, 'COUNT', 100_000);
          expect(onOwner.length).toBeGreaterThan(0);
        }
        // Every key is under a tag of this prefix: a space's, or an area's.
        const tags = new Set([
          ...SPACES.map((s) => spaceTag(prefix, s)),
          ...(['batches', 'fanout', 'schedules', 'webhooks', 'dead-letters', 'sends'] as const).map(
            (a) => areaTag(prefix, a),
          ),
        ]);
        const untagged = keys.filter((k) => ![...tags].some((t) => k.startsWith(t)));
        expect(untagged).toEqual([]);

        // Kill the primary serving alpha, the seed node, while its batch runs.
        const victim = await cluster.primaryFor(spaceTag(prefix, 'alpha'));
        expect(victim.address).toBe(cluster.seed);
        await cluster.kill(victim);
        const done = await Promise.all(
          handles.map((h) =>
            h.completed({ timeoutMs: 90_000 }).catch(async (err: unknown) => {
              // A stall must say where it stands: each space's limiter, queue and worker.
              throw new Error(`${String(err)}\n${await diagnose(stack!, config)}`);
            }),
          ),
        );
        await cluster.waitHealthy();
        const promoted = await cluster.primaryFor(spaceTag(prefix, 'alpha'));
        expect(promoted.port).not.toBe(victim.port);

        for (const [i, batch] of done.entries()) {
          expect(batch.state, SPACES[i]).toBe('completed');
          expect(batch.counts).toMatchObject({
            total: PARTICIPANTS,
            succeeded: PARTICIPANTS,
            pending: 0,
            deadLettered: 0,
          });
          const unmuted = mock.participants(conferences[i]!.sid).filter((p) => !p.muted);
          expect(unmuted, `${SPACES[i]}: participants left unmuted`).toEqual([]);
        }
        // One batch per request: the failover made no second one.
        const batches = await confbulk.listBatches({ limit: 10 });
        expect(batches.map((b) => b.id).sort()).toEqual(handles.map((h) => h.id).sort());
        // At least once, and the kill costs few repeats: the jobs in flight on the dead
        // shard's space (its concurrency) and those whose completion the primary had not yet
        // passed on to its replica. Twice the concurrency of both spaces bounds both.
        const applied = mock.counters().appliedUpdates;
        expect(applied).toBeGreaterThanOrEqual(2 * PARTICIPANTS);
        expect(applied - 2 * PARTICIPANTS).toBeLessThanOrEqual(4 * config.concurrency);
      } finally {
        await stack?.close(3000).catch(() => {});
        connection?.disconnect();
        await confbulk.close().catch(() => {});
        probe.disconnect();
        await mock.stop();
        await cluster.stop();
      }
    },
  );
});
