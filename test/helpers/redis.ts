/**
 * Test helpers for Redis: the server or cluster provisioned by the global setup, a unique
 * key prefix per test, and cleanup of every key under it. With
 * `CONFBULK_TEST_TOPOLOGY=cluster` the global setup starts a Redis Cluster of 3 primaries
 * and 3 replicas, and every helper here connects to it through the project's own
 * connection factory, exactly as production does with `REDIS_CLUSTER_NODES`.
 */
import { randomBytes } from 'node:crypto';
import type { RedisOptions } from 'ioredis';
import { keyPattern } from '../../src/keys.js';
import { createRedis, scanAll, unlinkEach, type RedisConnection } from '../../src/queues.js';

/** Seed node of the test cluster, when the run is on a cluster. */
export function testClusterSeed(): string | undefined {
  return process.env.CONFBULK_TEST_REDIS_CLUSTER_NODES || undefined;
}

export function testRedisUrl(): string {
  const url = process.env.CONFBULK_TEST_REDIS_URL ?? process.env.REDIS_URL;
  if (!url)
    throw new Error('REDIS_URL is not set: tests must run through vitest (test/global-setup.ts)');
  return url;
}

/** Where the tests' Redis is, as the configuration names it. */
export function testTarget(): {
  redisUrl: string | undefined;
  redisClusterNodes: string[] | undefined;
} {
  const seed = testClusterSeed();
  return seed
    ? { redisUrl: undefined, redisClusterNodes: [seed] }
    : { redisUrl: testRedisUrl(), redisClusterNodes: undefined };
}

/** The environment naming the tests' Redis, for child processes. */
export function testRedisEnv(): Record<string, string> {
  const seed = testClusterSeed();
  return seed ? { REDIS_URL: '', REDIS_CLUSTER_NODES: seed } : { REDIS_URL: testRedisUrl() };
}

/** A connection to the tests' Redis (a Cluster connection on a cluster run). */
export function testRedis(extra: RedisOptions = {}): RedisConnection {
  return createRedis(testTarget(), extra);
}

/** A fresh prefix such as `t-1a2b3c4d`. */
export function uniquePrefix(): string {
  return `t-${randomBytes(4).toString('hex')}`;
}

/** Every key under `prefix`, on every primary. */
export async function keysUnder(redis: RedisConnection, prefix: string): Promise<string[]> {
  return scanAll(redis, keyPattern(prefix));
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: RedisConnection, prefix: string): Promise<void> {
  await unlinkEach(redis, await keysUnder(redis, prefix));
}

/**
 * Runs `fn` with a Redis client and a unique prefix, then deletes the prefix's keys and
 * closes the client, whatever happened.
 */
export async function withRedis<T>(
  fn: (redis: RedisConnection, prefix: string) => Promise<T>,
): Promise<T> {
  const redis = testRedis();
  const prefix = uniquePrefix();
  try {
    return await fn(redis, prefix);
  } finally {
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
  }
}
