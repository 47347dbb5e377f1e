/**
 * Test helpers for Redis: the URL provisioned by the global setup, a unique key prefix
 * per test (a hash tag, like production), and cleanup of every key under it.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export function testRedisUrl(): string {
  const url = process.env.CONFBULK_TEST_REDIS_URL ?? process.env.REDIS_URL;
  if (!url)
    throw new Error('REDIS_URL is not set: tests must run through vitest (test/global-setup.ts)');
  return url;
}

/** A fresh prefix such as `{t-1a2b3c4d}`. */
export function uniquePrefix(): string {
  return `{t-${randomBytes(4).toString('hex')}}`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/**
 * Runs `fn` with a Redis client and a unique prefix, then deletes the prefix's keys and
 * closes the client, whatever happened.
 */
export async function withRedis<T>(fn: (redis: Redis, prefix: string) => Promise<T>): Promise<T> {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix();
  try {
    return await fn(redis, prefix);
  } finally {
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
  }
}
