/**
 * Provisions Redis once for the whole test run and hands it to the test files through the
 * environment; every test uses its own random key prefix.
 *
 * By default: a single node (scripts/redis.ts: REDIS_URL, a private redis-server, or
 * Debian's package installed first). With `CONFBULK_TEST_TOPOLOGY=cluster`: a private
 * Redis Cluster of 3 primaries and 3 replicas (scripts/redis-cluster.ts), named by
 * `REDIS_CLUSTER_NODES` as production names it.
 */
import { provisionRedis, type ProvisionedRedis } from '../scripts/redis.js';
import { provisionRedisCluster, type ProvisionedCluster } from '../scripts/redis-cluster.js';

let redis: ProvisionedRedis | undefined;
let cluster: ProvisionedCluster | undefined;

export async function setup(): Promise<void> {
  const topology = process.env.CONFBULK_TEST_TOPOLOGY ?? 'single';
  if (topology === 'cluster') {
    cluster = await provisionRedisCluster();
    // Tests hand the cluster to what they start (testRedisEnv, testTarget); a child that
    // is meant to find no Redis must not inherit one.
    delete process.env.REDIS_URL;
    delete process.env.CONFBULK_TEST_REDIS_URL;
    process.env.CONFBULK_TEST_REDIS_CLUSTER_NODES = cluster.seed;
    return;
  }
  if (topology !== 'single') {
    throw new Error(`CONFBULK_TEST_TOPOLOGY must be 'single' or 'cluster', not '${topology}'`);
  }
  redis = await provisionRedis();
  process.env.REDIS_URL = redis.url;
  process.env.CONFBULK_TEST_REDIS_URL = redis.url;
}

export async function teardown(): Promise<void> {
  await redis?.stop();
  await cluster?.stop();
}
