/**
 * Opens what a command needs (the producer, the dead-letter store, a Redis client) from
 * the configuration, and always closes it. Heavy modules are imported on first use so
 * that `--help` and input errors stay fast.
 */
import type { RedisConnection } from '../queues.js';
import type { Confbulk } from '../types.js';
import type { DeadLetters } from '../dead-letters/dead-letters.js';
import type { CliContext } from './io.js';

/** Runs `fn` with a producer connected to `REDIS_URL`, closing it afterwards. */
export async function withConfbulk<T>(
  ctx: CliContext,
  fn: (confbulk: Confbulk) => Promise<T>,
): Promise<T> {
  const config = ctx.getRedisConfig();
  const { createConfbulk } = await import('../producer/confbulk.js');
  const confbulk = await createConfbulk({ config, logger: ctx.getLogger({ service: 'cli' }) });
  try {
    return await fn(confbulk);
  } finally {
    await confbulk.close();
  }
}

/** Runs `fn` with the dead-letter store, closing it afterwards. */
export async function withDeadLetters<T>(
  ctx: CliContext,
  fn: (dlq: DeadLetters) => Promise<T>,
): Promise<T> {
  const config = ctx.getRedisConfig();
  const { openDeadLetters } = await import('../http/dependencies.js');
  const opened = await openDeadLetters(config);
  try {
    return await fn(opened.deadLetters);
  } finally {
    await opened.close();
  }
}

/** Runs `fn` with a plain Redis client, disconnecting it afterwards. */
export async function withRedis<T>(
  ctx: CliContext,
  fn: (redis: RedisConnection, prefix: string) => Promise<T>,
): Promise<T> {
  const config = ctx.getRedisConfig();
  const { connectForCommand } = await import('../queues.js');
  const redis = await connectForCommand(config, { maxRetriesPerRequest: 3 });
  try {
    return await fn(redis, config.prefix);
  } finally {
    redis.disconnect();
  }
}
