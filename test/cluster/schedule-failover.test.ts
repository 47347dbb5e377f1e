/**
 * A schedule across a failover, on a private Redis Cluster of 3 primaries and 3 replicas
 * (this file kills a node). Two worker stacks (two processes, as far as BullMQ and confbulk
 * know: each has its own connections) run a per-second cron; the primary that serves both
 * the schedules queue (its job scheduler and each tick's job) and the batches (the
 * idempotency key that makes a tick's batch once) is killed with SIGKILL mid-run, and its
 * replica takes over. Replication is asynchronous, so the tick the dead primary was handing
 * out can come back from the replica and run again: it must still make one batch. The
 * schedule goes on firing after the failover, and every tick's batch completes.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type ConfbulkConfig, type SpaceConfig } from '../../src/config.js';
import { areaTag } from '../../src/keys.js';
import { mockSpaceProfile, startMock } from '../../src/mock/index.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import { createRedis, type RedisConnection } from '../../src/queues.js';
import type { Batch } from '../../src/types.js';
import { startWorkerStack, type WorkerStack } from '../../src/worker/stack.js';
import { provisionRedisCluster, type ProvisionedCluster } from '../../scripts/redis-cluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The tick a scheduled batch ran for (its idempotency key is `schedule:repeat:<name>:<ms>`). */
function tickOf(batch: Batch): number {
  return Number(/^schedule:repeat:.+:(\d+)$/.exec(batch.idempotencyKey ?? '')?.[1]);
}

/** A prefix whose schedules and batches tags share a primary (killing it hits both). */
async function prefixOnOneShard(cluster: ProvisionedCluster): Promise<string> {
  for (;;) {
    const prefix = `s-${randomBytes(4).toString('hex')}`;
    const [a, b] = await Promise.all(
      (['schedules', 'batches'] as const).map((area) =>
        cluster.primaryFor(areaTag(prefix, area)).then((n) => n.port),
      ),
    );
    if (a === b) return prefix;
  }
}

describe('a schedule on Redis Cluster (3 primaries + 3 replicas)', () => {
  it(
    'fires a per-second cron once a tick across a primary killed -9, and keeps firing after it',
    { timeout: 120_000 },
    async () => {
      const cluster = await provisionRedisCluster();
      const mock = await startMock({ rateLimit: null });
      const stacks: WorkerStack[] = [];
      const connections: RedisConnection[] = [];
      const prefix = await prefixOnOneShard(cluster);
      const space: SpaceConfig = {
        ...mockSpaceProfile(mock, mock.createAccount()),
        name: 'default',
        rateLimits: DEFAULTS.rateLimits,
      };
      const config: ConfbulkConfig = {
        ...DEFAULTS,
        redisUrl: undefined,
        // Every node as a seed: the processes keep finding the cluster whichever node dies.
        redisClusterNodes: cluster.nodes.map((n) => n.address),
        prefix,
        spaces: new Map([['default', space]]),
        schedule: { ...DEFAULTS.schedule, minIntervalMs: 1000 },
        shutdownTimeoutMs: 5000,
      };
      const confbulk = await createConfbulk({ config });
      const batches = async (): Promise<Batch[]> =>
        (await confbulk.listBatches({ limit: 1000 })).filter((b) => b.schedule === 'tick');
      try {
        for (let i = 0; i < 2; i++) {
          const connection = createRedis(config);
          connections.push(connection);
          stacks.push(
            await startWorkerStack({
              config,
              connection,
              stalled: { lockDurationMs: 5000, stalledIntervalMs: 2000 },
            }),
          );
        }
        const conference = mock.createConference(space.projectId, {
          participants: 3,
          friendlyName: 'standup',
        });
        await confbulk.schedules.add({
          name: 'tick',
          cron: '* * * * * *',
          request: { action: 'mute', target: { conferenceName: 'standup' } },
        });
        const waitFor = async (n: number, timeoutMs: number): Promise<void> => {
          const end = Date.now() + timeoutMs;
          while ((await batches()).length < n) {
            if (Date.now() > end) throw new Error(`fewer than ${n} scheduled batches in time`);
            await sleep(100);
          }
        };
        await waitFor(3, 30_000);

        // Kill the primary of the schedules queue and the batches, between two ticks' work.
        const victim = await cluster.primaryFor(areaTag(prefix, 'schedules'));
        await cluster.kill(victim);
        const killedAt = Date.now();
        await cluster.waitHealthy();
        const promoted = await cluster.primaryFor(areaTag(prefix, 'schedules'));
        expect(promoted.port).not.toBe(victim.port);
        const before = (await batches()).length;
        // It goes on firing: three more ticks after the failover.
        await waitFor(before + 3, 45_000);
        await confbulk.schedules.remove('tick');
        // A tick in flight when the schedule went still ends; then nothing more comes.
        await sleep(1500);

        const runs = await batches();
        const ticks = runs.map(tickOf);
        expect(ticks.every((t) => Number.isFinite(t) && t % 1000 === 0)).toBe(true);
        // Each tick made exactly one batch, the tick the failover may have replayed included.
        expect(new Set(ticks).size).toBe(runs.length);
        expect(ticks.some((t) => t > killedAt)).toBe(true);
        // Every batch completes; a tick's update that a newer tick's overtook counts as
        // superseded (latest intent wins), none is lost or dead-lettered.
        const ended = await Promise.all(
          runs.map((b) => confbulk.waitForBatch(b.id, { timeoutMs: 30_000 })),
        );
        for (const b of ended) {
          expect(b.state, b.id).toBe('completed');
          expect(b.counts).toMatchObject({ total: 3, pending: 0, deadLettered: 0, gone: 0 });
          expect(b.counts.succeeded + b.counts.superseded, b.id).toBe(3);
        }
        expect(mock.participants(conference.sid).every((p) => p.muted)).toBe(true);
        await sleep(1200);
        expect((await batches()).length).toBe(runs.length);
      } finally {
        for (const s of stacks) await s.close(3000).catch(() => {});
        for (const c of connections) c.disconnect();
        await confbulk.close().catch(() => {});
        await mock.stop();
        await cluster.stop();
      }
    },
  );
});
