/**
 * Queue names and the one Redis connection factory. `REDIS_URL` names a single Redis
 * node; `REDIS_CLUSTER_NODES` (seed nodes of a Redis Cluster, `host:port` or
 * `rediss://user:pass@host:port`) makes every connection an ioredis `Cluster` instead:
 * BullMQ queues and workers, the limiter, the circuit, batches, the CLI, the HTTP API and
 * the dashboard all connect through `createRedis`. Where keys live (their hash tags) is
 * src/keys.ts.
 */
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ConfigError } from './errors.js';
import { connectionReason, isConnectionError, redisWhere } from './redis-url.js';

/** A connection to a single node or to a Redis Cluster; both speak the same commands. */
export type RedisConnection = Redis | Cluster;

/** Where Redis is: a single node (`redisUrl`) or a cluster's seed nodes. */
export interface RedisTarget {
  redisUrl?: string | undefined;
  redisClusterNodes?: readonly string[] | undefined;
}

export const QUEUE_NAMES = {
  /** One job per batch: list the participants and enqueue their updates. */
  fanout: 'fanout',
  /** Requests that can never succeed, with everything needed to replay them. */
  deadLetters: 'dead-letters',
  /** Job schedulers that create batches at a time or on a cron. */
  schedules: 'schedules',
  /** Completion webhooks of batches, retried with backoff. */
  webhooks: 'webhooks',
} as const;

/** Per-space queue of participant updates: a paused space never blocks another. */
export function updatesQueueName(space: string): string {
  return `updates.${space}`;
}

/** True when `target` names a Redis server or cluster. */
export function hasRedis(target: RedisTarget): boolean {
  return Boolean(target.redisUrl) || Boolean(target.redisClusterNodes?.length);
}

/** `REDIS_CLUSTER_NODES` when the cluster is configured, else `REDIS_URL`: for messages. */
export function redisSetting(target: RedisTarget): 'REDIS_URL' | 'REDIS_CLUSTER_NODES' {
  return target.redisClusterNodes?.length ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
}

/** `Redis at host:port` (or several seeds), never a password: for messages. */
export function targetWhere(target: RedisTarget | string): string {
  if (typeof target === 'string') return redisWhere(target);
  if (target.redisClusterNodes?.length) {
    const seeds = target.redisClusterNodes.map((seed) => {
      try {
        return parseSeed(seed).node;
      } catch {
        return '?';
      }
    });
    return `Redis Cluster at ${seeds.join(',')}`;
  }
  return redisWhere(target.redisUrl);
}

interface ParsedSeed {
  node: string;
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls: boolean;
}

/**
 * One entry of `REDIS_CLUSTER_NODES`: `host:port`, `redis://[user:pass@]host:port` or
 * `rediss://[user:pass@]host:port` (TLS).
 * @throws ConfigError naming REDIS_CLUSTER_NODES and the entry's host (never a password)
 */
export function parseSeed(seed: string): ParsedSeed {
  const text = seed.trim();
  const url = new URL(/^[a-z]+:\/\//i.test(text) ? text : `redis://${text}`);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(
      `REDIS_CLUSTER_NODES entry '${url.host}' must be host:port, redis://host:port or rediss://host:port`,
      'REDIS_CLUSTER_NODES',
    );
  }
  const port = Number(url.port || 6379);
  if (!url.hostname || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(
      `REDIS_CLUSTER_NODES entry '${url.host}' needs a host and a port (1-65535)`,
      'REDIS_CLUSTER_NODES',
    );
  }
  return {
    node: `${url.hostname}:${port}`,
    host: url.hostname,
    port,
    ...(url.username && { username: decodeURIComponent(url.username) }),
    ...(url.password && { password: decodeURIComponent(url.password) }),
    tls: url.protocol === 'rediss:',
  };
}

/** How often commands are retried while a shard fails over (see docs/scaling.md). */
const CLUSTER_FAILOVER_OPTIONS: ClusterOptions = {
  // A command that meets a closed connection or CLUSTERDOWN waits, refreshes the slot map
  // and goes again; 64 tries of 200-300 ms ride out a failover of ~10 s.
  retryDelayOnFailover: 200,
  retryDelayOnClusterDown: 300,
  retryDelayOnTryAgain: 100,
  maxRedirections: 64,
  clusterRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
  slotsRefreshTimeout: 2000,
};

/**
 * A Cluster whose copies (`duplicate()`: BullMQ's blocking connections, subscribers) start
 * from every node this one knows, not only the seeds: a copy made after the seed node died
 * (a failover) still finds the cluster.
 */
class DiscoveringCluster extends Cluster {
  readonly #seeds: ClusterNode[];

  constructor(seeds: ClusterNode[], options: ClusterOptions) {
    super(seeds, options);
    this.#seeds = seeds;
  }

  override duplicate(
    overrideStartupNodes: ClusterNode[] = [],
    overrideOptions: ClusterOptions = {},
  ): Cluster {
    if (overrideStartupNodes.length > 0)
      return super.duplicate(overrideStartupNodes, overrideOptions);
    const known: ClusterNode[] = this.nodes().map((n) => ({
      host: n.options.host ?? '127.0.0.1',
      port: n.options.port ?? 6379,
    }));
    return new DiscoveringCluster([...known, ...this.#seeds], {
      ...this.options,
      ...overrideOptions,
    });
  }
}

/**
 * A connection for BullMQ workers and blocking use: `maxRetriesPerRequest: null` as BullMQ
 * requires, reconnecting forever with a capped delay (Redis restarts must not kill
 * workers). A string is a single node's URL; a target with cluster seed nodes gives a
 * `Cluster` that discovers the rest of the cluster from any one of them.
 */
export function createRedis(
  target: string | RedisTarget,
  extra: RedisOptions = {},
): RedisConnection {
  const nodeOptions: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...extra,
  };
  if (typeof target !== 'string' && target.redisClusterNodes?.length) {
    const seeds = target.redisClusterNodes.map(parseSeed);
    const first = seeds[0] as ParsedSeed;
    const nodes: ClusterNode[] = seeds.map(({ host, port }) => ({ host, port }));
    return new DiscoveringCluster(nodes, {
      ...CLUSTER_FAILOVER_OPTIONS,
      enableReadyCheck: true,
      redisOptions: {
        ...nodeOptions,
        ...(first.username && { username: first.username }),
        ...(first.password && { password: first.password }),
        ...(first.tls && { tls: { servername: first.host } }),
      },
      // TLS certificates name hosts: connect by the name the cluster announces.
      ...(first.tls && { dnsLookup: (address, callback) => callback(null, address) }),
    });
  }
  const url = typeof target === 'string' ? target : target.redisUrl;
  if (!url) throw new ConfigError('REDIS_URL is not set', 'REDIS_URL');
  return new Redis(url, nodeOptions);
}

/** The primaries of a cluster connection, or the single node itself. */
export function primaries(redis: RedisConnection): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * Closes a connection: QUIT when it is connected (pending replies arrive first), otherwise
 * disconnect at once. QUIT on a connection that never came up would wait in the offline
 * queue forever, since `createRedis` connections retry without end.
 */
export async function closeRedis(redis: RedisConnection): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/**
 * Silences a BullMQ queue's `error` events and returns it. A queue re-emits every error of
 * the connection it shares; the connection's owner reports those (one line per outage, see
 * src/redis-health.ts), and without a listener BullMQ prints each one to stderr with its
 * stack. A failed command still rejects the call that made it.
 */
export function quietQueue<
  Q extends { on(event: 'error', listener: (err: Error) => void): unknown },
>(queue: Q): Q {
  queue.on('error', () => {});
  return queue;
}

/** How long a command waits for Redis to answer before giving up (a host that drops packets). */
export const REDIS_ANSWER_TIMEOUT_MS = 10_000;

/**
 * Resolves once `redis` answers PING; otherwise rejects with a ConfigError that names
 * REDIS_URL (or REDIS_CLUSTER_NODES) and the host (never its password): at the first
 * connection error (a refused connection, an unknown host: milliseconds), or after `ms`
 * without an answer. Short-lived
 * commands use it so that an unreachable Redis ends them with a clear message instead of
 * an endless reconnect loop.
 */
export async function redisAnswers(
  redis: RedisConnection,
  target: string | RedisTarget | undefined,
  ms = REDIS_ANSWER_TIMEOUT_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onError: ((err: Error) => void) | undefined;
  const where = target ? targetWhere(target) : redisWhere(undefined);
  const setting = target && typeof target !== 'string' ? redisSetting(target) : 'REDIS_URL';
  const unreachable = (reason: string): ConfigError =>
    new ConfigError(
      `${where} cannot be reached (${reason}): check ${setting} and that the server is up`,
      setting,
    );
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConfigError(
            `${where} did not answer within ${ms} ms: check ${setting} and that the server is up`,
            setting,
          ),
        ),
      ms,
    );
    onError = (err: Error) => {
      if (isConnectionError(err)) reject(unreachable(connectionReason(err)));
    };
    redis.on('error', onError);
  });
  const ping = redis.ping().catch((err: Error) => {
    throw unreachable(err.message);
  });
  try {
    await Promise.race([ping, failed]);
  } finally {
    clearTimeout(timer);
    if (onError) redis.off('error', onError);
  }
}

/**
 * A connection for a short-lived command: connection errors are left to `redisAnswers`
 * (not printed by ioredis as unhandled), and it is known to answer when this resolves.
 */
export async function connectForCommand(
  target: string | RedisTarget,
  extra: RedisOptions = {},
): Promise<RedisConnection> {
  const redis = createRedis(target, extra);
  redis.on('error', () => {});
  try {
    await redisAnswers(redis, target);
    return redis;
  } catch (err) {
    redis.disconnect();
    throw err;
  }
}

/**
 * Every key matching `pattern` (all keys when omitted), on every primary of a cluster.
 * For tools, tests and scans only: the running system never lists keys.
 */
export async function scanAll(redis: RedisConnection, pattern?: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of primaries(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = pattern
        ? await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
        : await node.scan(cursor, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/** Deletes `keys` one command each (they may sit in different slots of a cluster). */
export async function unlinkEach(redis: RedisConnection, keys: readonly string[]): Promise<void> {
  await Promise.all(keys.map((key) => redis.unlink(key)));
}

/**
 * Throws unless `target` names Redis: `REDIS_URL is not set (nor REDIS_CLUSTER_NODES):
 * <why>`. Returns the target for chaining.
 */
export function requireRedis<T extends RedisTarget>(target: T, why: string): T {
  if (!hasRedis(target)) {
    throw new ConfigError(`REDIS_URL is not set (nor REDIS_CLUSTER_NODES): ${why}`, 'REDIS_URL');
  }
  return target;
}
