/**
 * Redis commands per participant update, and what one Redis node carries: a private
 * single-node redis-server, the mock, one in-process worker stack and a producer mute a
 * conference of N participants (default 5,000) with no rate limit in the way. Around the
 * batch, `CONFIG RESETSTAT` and `INFO commandstats` / `INFO cpu` give every command Redis
 * ran and the CPU time it spent; the table prints calls per update by command, and the
 * node's capacity as commands per CPU-second of its one thread (docs/scaling.md uses it).
 *
 * With `--cluster` the same runs on a local Redis Cluster of 3 primaries and 3 replicas
 * (scripts/redis-cluster.ts) and also prints each primary's share, with the hash tags it
 * serves: how one space's work spreads over the shards.
 *
 *   npx tsx scripts/bench/redis-commands.ts [--participants 5000] [--cluster]
 */
import { DEFAULTS, type ConfbulkConfig } from '../../src/config.js';
import { mockSpaceProfile, startMock } from '../../src/mock/index.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import { areaTag, spaceTag } from '../../src/keys.js';
import { createRedis, primaries, type RedisConnection } from '../../src/queues.js';
import { startWorkerStack } from '../../src/worker/stack.js';
import { provisionRedis } from '../redis.js';
import { provisionRedisCluster } from '../redis-cluster.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

function parseCommandStats(info: string): Map<string, { calls: number; usec: number }> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    out.set(m[1] as string, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

function cpuSeconds(info: string): number {
  const sys = Number(/used_cpu_sys:([0-9.]+)/.exec(info)?.[1] ?? 0);
  const user = Number(/used_cpu_user:([0-9.]+)/.exec(info)?.[1] ?? 0);
  return sys + user;
}

function merge(
  all: Map<string, { calls: number; usec: number }>[],
): Map<string, { calls: number; usec: number }> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const stats of all) {
    for (const [k, v] of stats) {
      const prev = out.get(k) ?? { calls: 0, usec: 0 };
      out.set(k, { calls: prev.calls + v.calls, usec: prev.usec + v.usec });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const participants = arg('participants', 5000);
  const onCluster = process.argv.includes('--cluster');
  const single = onCluster ? undefined : await provisionRedis({ forcePrivate: true });
  const cluster = onCluster ? await provisionRedisCluster() : undefined;
  const redis = {
    version: single?.version ?? cluster?.version ?? '',
    stop: async () => {
      await single?.stop();
      await cluster?.stop();
    },
  };
  const mock = await startMock({ rateLimit: null });
  const account = mock.createAccount();
  const config: ConfbulkConfig = {
    ...DEFAULTS,
    redisUrl: single?.url,
    redisClusterNodes: cluster ? [cluster.seed] : undefined,
    prefix: 'bench',
    spaces: new Map([
      [
        'default',
        { ...mockSpaceProfile(mock, account), rateLimits: [{ count: 100_000, durationMs: 1000 }] },
      ],
    ]),
    concurrency: 100,
  };
  const admin: RedisConnection = createRedis(config);
  const connection = createRedis(config);
  const confbulk = await createConfbulk({ config });
  const stack = await startWorkerStack({ config, connection });
  try {
    const conference = mock.createConference(account.accountSid, { participants });
    await admin.ping();
    const nodes = primaries(admin);
    await Promise.all(nodes.map((n) => n.config('RESETSTAT')));
    const cpuOf = async (): Promise<number[]> =>
      Promise.all(nodes.map(async (n) => cpuSeconds(await n.info('cpu'))));
    const cpu0 = await cpuOf();
    const t0 = performance.now();
    const handle = await confbulk.bulkAction({
      action: 'mute',
      target: { conferenceSid: conference.sid },
    });
    const batch = await handle.completed({ timeoutMs: 600_000 });
    const seconds = (performance.now() - t0) / 1000;
    const cpuEach = (await cpuOf()).map((c, i) => c - (cpu0[i] ?? 0));
    const cpu = cpuEach.reduce((a, b) => a + b, 0);
    const perNode = await Promise.all(
      nodes.map(async (n) => parseCommandStats(await n.info('commandstats'))),
    );
    const stats = merge(perNode);
    // The INFO calls above are not the system's.
    const info = stats.get('info');
    if (info) info.calls = Math.max(0, info.calls - nodes.length);
    const rows = [...stats.entries()]
      .filter(([, s]) => s.calls > 0)
      .sort((a, b) => b[1].calls - a[1].calls);
    const total = rows.reduce((n, [, s]) => n + s.calls, 0);
    console.log(
      `mute of ${participants} participants: ${batch.state}, ${batch.counts.succeeded} succeeded in ${seconds.toFixed(2)} s ` +
        `(${(participants / seconds).toFixed(0)} updates/s); Redis ${redis.version}, load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`,
    );
    console.log('| command | calls | per update | usec per call |');
    console.log('|---|---:|---:|---:|');
    for (const [name, s] of rows) {
      console.log(
        `| ${name} | ${s.calls} | ${(s.calls / participants).toFixed(3)} | ${(s.usec / s.calls).toFixed(1)} |`,
      );
    }
    console.log(`| **total** | ${total} | ${(total / participants).toFixed(2)} | |`);
    console.log(
      `Redis CPU: ${cpu.toFixed(2)} s for ${total} commands = ${(total / cpu).toFixed(0)} commands per CPU-second; ` +
        `${(participants / cpu).toFixed(0)} participant updates per CPU-second of one Redis node`,
    );
    if (cluster) {
      const tags = [
        spaceTag('bench', 'default'),
        ...(['batches', 'fanout', 'webhooks'] as const).map((a) => areaTag('bench', a)),
      ];
      const owners = await Promise.all(tags.map((t) => cluster.primaryFor(t)));
      console.log('| primary | commands | share | Redis CPU s | tags it serves |');
      console.log('|---|---:|---:|---:|---|');
      for (const [i, n] of nodes.entries()) {
        const calls = [...(perNode[i] ?? new Map()).values()].reduce((a, s2) => a + s2.calls, 0);
        const served = tags.filter((_, k) => owners[k]?.port === n.options.port);
        console.log(
          `| ${n.options.port} | ${calls} | ${((100 * calls) / total).toFixed(1)} % | ${(cpuEach[i] ?? 0).toFixed(2)} | ${served.join(' ') || '-'} |`,
        );
      }
    }
  } finally {
    await stack.close(5000).catch(() => {});
    connection.disconnect();
    await confbulk.close().catch(() => {});
    admin.disconnect();
    await mock.stop();
    await redis.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
