/**
 * Queue names and Redis connections. Every key lives under the configured prefix, a hash
 * tag (`{confbulk}` by default) so that the whole system sits in one Redis Cluster slot and
 * its Lua scripts may touch any of its keys.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from './errors.js';
import { connectionReason, isConnectionError, redisWhere } from './redis-url.js';

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

/** Key of confbulk's own (non-BullMQ) data, under the same hash tag. */
export function dataKey(prefix: string, ...parts: string[]): string {
  return [prefix, 'data', ...parts].join(':');
}

/**
 * A connection for BullMQ workers and blocking use: `maxRetriesPerRequest: null` as BullMQ
 * requires, reconnecting forever with a capped delay (Redis restarts must not kill workers).
 */
export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...extra,
  });
}

/**
 * Closes a connection: QUIT when it is connected (pending replies arrive first), otherwise
 * disconnect at once. QUIT on a connection that never came up would wait in the offline
 * queue forever, since `createRedis` connections retry without end.
 */
export async function closeRedis(redis: Redis): Promise<void> {
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
 * REDIS_URL and the host (never its password): at the first connection error (a refused
 * connection, an unknown host: milliseconds), or after `ms` without an answer. Short-lived
 * commands use it so that an unreachable Redis ends them with a clear message instead of
 * an endless reconnect loop.
 */
export async function redisAnswers(
  redis: Redis,
  url: string | undefined,
  ms = REDIS_ANSWER_TIMEOUT_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onError: ((err: Error) => void) | undefined;
  const where = redisWhere(url);
  const unreachable = (reason: string): ConfigError =>
    new ConfigError(
      `${where} cannot be reached (${reason}): check REDIS_URL and that the server is up`,
      'REDIS_URL',
    );
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConfigError(
            `${where} did not answer within ${ms} ms: check REDIS_URL and that the server is up`,
            'REDIS_URL',
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
export async function connectForCommand(url: string, extra: RedisOptions = {}): Promise<Redis> {
  const redis = createRedis(url, extra);
  redis.on('error', () => {});
  try {
    await redisAnswers(redis, url);
    return redis;
  } catch (err) {
    redis.disconnect();
    throw err;
  }
}
