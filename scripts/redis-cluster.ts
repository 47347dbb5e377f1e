/**
 * A real Redis Cluster for tests, chaos runs and benchmarks: 3 primaries and 3 replicas of
 * the machine's `redis-server` (Debian's package, installed by scripts/redis.ts when
 * missing) on loopback ports reserved by scripts/ports.ts (never reused while a killed node
 * may come back, nor handed to another test), each in its own directory under one temporary
 * directory, joined with `redis-cli --cluster create --cluster-replicas 1`.
 *
 * Tuned for tests, and said so: `cluster-node-timeout` is 1 s (failover within a few
 * seconds of a primary's death, instead of the default 15 s), and
 * `cluster-require-full-coverage no`, so the shards that are up keep serving while one is
 * failing over (what a deployment serving many spaces wants too). Replicas replicate
 * asynchronously, as in production: a write acknowledged by a primary that dies before
 * passing it on is lost, which is exactly what the failover tests exercise.
 *
 * `kill(node)` sends SIGKILL to one node and `restart(node)` brings it back on the same
 * port and directory (it rejoins as a replica of whoever took over its slots).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { releasePort, reservePort } from './ports.js';
import { assertSupportedVersion, redisServerBinary, redisVersion } from './redis.js';

export interface ClusterNode {
  port: number;
  /** `127.0.0.1:PORT` */
  address: string;
}

export interface ProvisionedCluster {
  /** Every node, primaries first as they were created (roles change on failover). */
  nodes: ClusterNode[];
  /** `REDIS_CLUSTER_NODES` value naming one seed node. */
  seed: string;
  version: string;
  /** The node that serves `key`'s slot as primary right now. */
  primaryFor(key: string): Promise<ClusterNode>;
  /** SIGKILL one node (no shutdown, no save): a machine dying. */
  kill(node: ClusterNode): Promise<void>;
  /** Starts a killed node again on the same port and directory. */
  restart(node: ClusterNode): Promise<void>;
  /** A replica of `primary`, as the primary reports it (ROLE). */
  replicaOf(primary: ClusterNode): Promise<ClusterNode>;
  /** SIGSTOP one node: a machine that stalls (it neither answers nor replicates) until `thaw`. */
  freeze(node: ClusterNode): void;
  /** SIGCONT a frozen node. */
  thaw(node: ClusterNode): void;
  /** Resolves once every slot is served by a primary that answers and the cluster is ok. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /**
   * Each node as it sees itself now (role, primary, keys, replication offsets) and the end of
   * its log: what a failed failover test prints.
   */
  describe(): Promise<string>;
  /** Stops every node and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  primaries?: number;
  replicasPerPrimary?: number;
  log?: (msg: string) => void;
}

const NODE_TIMEOUT_MS = 1000;

function client(port: number): Redis {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  return redis;
}

async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const redis = client(port);
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts a 3+3 (by default) cluster as described at the top of this file. */
export async function provisionRedisCluster(
  options: ClusterOptions = {},
): Promise<ProvisionedCluster> {
  const log = options.log ?? ((msg: string) => process.stderr.write(`[redis] ${msg}\n`));
  const primaries = options.primaries ?? 3;
  const replicas = options.replicasPerPrimary ?? 1;
  const binary = redisServerBinary(log);
  const root = mkdtempSync(join(tmpdir(), 'confbulk-cluster-'));
  const count = primaries * (1 + replicas);
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < count; i++) {
    const port = await reservePort();
    nodes.push({ port, address: `127.0.0.1:${port}` });
  }
  const children = new Map<number, ChildProcess>();
  const output = new Map<number, string>();

  const launch = async (node: ClusterNode): Promise<string> => {
    const dir = join(root, String(node.port));
    mkdirSync(dir, { recursive: true });
    // cluster-announce-hostname / bind: loopback only; nodes.conf lives in the node's dir.
    const args = [
      '--port',
      String(node.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      String(NODE_TIMEOUT_MS),
      '--cluster-require-full-coverage',
      'no',
      '--cluster-replica-validity-factor',
      '0',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--maxmemory-policy',
      'noeviction',
      '--loglevel',
      'warning',
    ];
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    output.set(node.port, '');
    const keep = (d: Buffer): void => {
      output.set(node.port, (output.get(node.port) ?? '') + d.toString());
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    children.set(node.port, proc);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) {
        throw new Error(
          `redis-server on port ${node.port} exited with code ${proc.exitCode}: ${(output.get(node.port) ?? '').trim()}`,
        );
      }
      try {
        return await redisVersion(`redis://${node.address}`);
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(
            `redis-server on port ${node.port} did not answer within 10 s: ${String(err)}`,
          );
        await sleep(50);
      }
    }
  };

  const killNode = async (node: ClusterNode, signal: NodeJS.Signals): Promise<void> => {
    const proc = children.get(node.port);
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  };

  const onExit = (): void => {
    for (const proc of children.values()) proc.kill('SIGKILL');
  };
  process.once('exit', onExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    // A frozen node would never handle its SIGTERM.
    for (const proc of children.values()) if (proc.exitCode === null) proc.kill('SIGCONT');
    await Promise.all(nodes.map((n) => killNode(n, 'SIGTERM')));
    for (const n of nodes) releasePort(n.port);
    rmSync(root, { recursive: true, force: true });
  };

  const waitHealthy = async (timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        const live = nodes.filter((n) => {
          const p = children.get(n.port);
          return p && p.exitCode === null && p.signalCode === null;
        });
        const states = await Promise.all(
          live.map((n) =>
            ask(n.port, async (r) => {
              const info = (await r.cluster('INFO')) as string;
              const slots = await r.cluster('SLOTS');
              return { info, slots };
            }),
          ),
        );
        const ok = states.every(
          (s) => s.info.includes('cluster_state:ok') && s.info.includes('cluster_slots_ok:16384'),
        );
        // Every live node agrees that each slot range's primary is a live node.
        const livePorts = new Set(live.map((n) => n.port));
        const served = states.every((s) =>
          s.slots.every((range) => livePorts.has(Number(range[2]?.[1]))),
        );
        if (ok && served) return;
        last = ok ? 'a slot is still assigned to a dead primary' : 'cluster_state is not ok';
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`Redis Cluster not healthy: ${last}`);
      await sleep(100);
    }
  };

  try {
    const versions = await Promise.all(nodes.map((n) => launch(n)));
    const version = versions[0] ?? '';
    assertSupportedVersion(version);
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => n.address),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (create.status !== 0) {
      throw new Error(
        `redis-cli --cluster create failed: ${(create.stderr || create.stdout).trim().slice(-2000)}`,
      );
    }
    await waitHealthy(30_000);
    // Replicas must have synced before a test may kill a primary and expect no loss of
    // what was written before the kill.
    await waitReplicasSynced(nodes, 30_000);
    const first = nodes[0] as ClusterNode;
    return {
      nodes,
      seed: first.address,
      version,
      waitHealthy,
      stop,
      async primaryFor(key: string) {
        const live = nodes.find((n) => {
          const p = children.get(n.port);
          return p && p.exitCode === null && p.signalCode === null;
        });
        if (!live) throw new Error('no node of the cluster is running');
        const slot = await ask(live.port, (r) => r.cluster('KEYSLOT', key) as Promise<number>);
        for (const n of nodes) {
          const proc = children.get(n.port);
          if (!proc || proc.exitCode !== null || proc.signalCode !== null) continue;
          try {
            const slots = await ask(n.port, (r) => r.cluster('SLOTS'));
            const range = slots.find(([lo, hi]) => slot >= lo && slot <= hi);
            if (!range) continue;
            const port = Number(range[2]?.[1]);
            const owner = nodes.find((x) => x.port === port);
            if (owner) return owner;
          } catch {
            // a node that does not answer cannot tell; ask the next one
          }
        }
        throw new Error(`no live node knows who serves slot ${slot}`);
      },
      kill: (node) => killNode(node, 'SIGKILL'),
      async replicaOf(primary) {
        const role = (await ask(primary.port, (r) => r.call('ROLE'))) as [
          string,
          number,
          [string, string, string][],
        ];
        const port = Number(role[2]?.[0]?.[1]);
        const replica = nodes.find((n) => n.port === port);
        if (role[0] !== 'master' || !replica) throw new Error(`${primary.address} has no replica`);
        return replica;
      },
      async describe() {
        const lines = await Promise.all(
          nodes.map(async (n) => {
            const facts = await ask(n.port, async (r) => {
              const info = await r.info('replication');
              const wanted =
                /^(role|master_port|master_link_status|master_sync_in_progress|master_repl_offset|slave_repl_offset|slave\d+):/;
              const fields = info.split('\r\n').filter((l) => wanted.test(l));
              return `keys=${await r.dbsize()} ${fields.join(' ')}`;
            }).catch((err: unknown) => `unreachable (${String(err)})`);
            const log = (output.get(n.port) ?? '').trim().split('\n').slice(-8).join('\n    ');
            return `${n.address}: ${facts}\n    ${log}`;
          }),
        );
        return lines.join('\n');
      },
      freeze: (node) => void children.get(node.port)?.kill('SIGSTOP'),
      thaw: (node) => void children.get(node.port)?.kill('SIGCONT'),
      async restart(node) {
        await launch(node);
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitReplicasSynced(nodes: ClusterNode[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const roles = await Promise.all(nodes.map((n) => ask(n.port, (r) => r.info('replication'))));
    const replicasUp = roles.filter(
      (info) => info.includes('role:slave') && info.includes('master_link_status:up'),
    ).length;
    const replicasWanted = roles.filter((info) => info.includes('role:slave')).length;
    if (replicasWanted > 0 && replicasUp === replicasWanted) return;
    if (Date.now() > deadline) throw new Error('Redis Cluster replicas did not sync in time');
    await sleep(100);
  }
}
