/**
 * Provisions Redis once for the whole test run (scripts/redis.ts: REDIS_URL, a private
 * redis-server, or Debian's package installed first) and hands its URL to the test files
 * through the environment. Every test uses its own random key prefix.
 */
import { provisionRedis, type ProvisionedRedis } from '../scripts/redis.js';

let redis: ProvisionedRedis | undefined;

export async function setup(): Promise<void> {
  redis = await provisionRedis();
  process.env.REDIS_URL = redis.url;
  process.env.CONFBULK_TEST_REDIS_URL = redis.url;
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}
