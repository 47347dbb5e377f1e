/**
 * The rate limiter's Redis memory and cost at 13800/10s, and the measurement behind its
 * data structure. A real limiter (in this process, its own connection) is driven like a
 * busy worker, 500 callers waiting, until a whole window's count was granted; then
 * `MEMORY USAGE` of its keys. Beside it, the alternative the design weighed: a trimmed
 * sorted set with one member per request (what an exact log of start times needs),
 * filled with the same 13,800 grants in the same batches (ZADD per batch, trimming with
 * ZREMRANGEBYSCORE and counting with ZCARD, as a reservation would).
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { RedisConnection } from '../../src/queues.js';
import type { RateLimitSpec } from '../../src/config.js';
import { createRateLimiter } from '../../src/worker/rate-limiter.js';
import { limiterKeys } from '../../src/worker/rate-limiter/keys.js';
import type { Scenario } from './support/scenario.js';
import { withStack } from './support/stack.js';
import { fmt, type Row } from './support/table.js';

const LIMIT: RateLimitSpec = { count: 13_800, durationMs: 10_000 };
const WAITING = 500;

async function memoryOf(redis: RedisConnection, keys: string[]): Promise<number> {
  let total = 0;
  for (const key of keys)
    total += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  return total;
}

export const limiterMemory: Scenario = {
  name: 'limiter-memory',
  title: 'Rate limiter at 13800/10s: Redis memory and calls, bucketed lists vs a sorted set',
  async run() {
    return withStack({ participants: 1 }, async (stack) => {
      const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
      const prefix = '{bench-limiter}';
      const limiter = createRateLimiter({ redis, prefix, space: 'bench', limits: [LIMIT] });
      const started = performance.now();
      let asked = 0;
      const loop = async (): Promise<void> => {
        while (asked < LIMIT.count) {
          asked++;
          await limiter.acquire();
          await new Promise((r) => setImmediate(r));
        }
      };
      await Promise.all(Array.from({ length: WAITING }, loop));
      const ms = performance.now() - started;
      const stats = limiter.stats();
      const keys = limiterKeys(prefix, 'bench', [LIMIT]);
      const listed = await redis.llen(keys.windows[0] as string);
      const bytes = await memoryOf(stack.client, [keys.state, ...keys.windows]);
      await limiter.close();

      // The alternative: one sorted-set member per request, in the same batches.
      const zkey = `${prefix}:zset`;
      const batch = Math.max(1, Math.round(stats.granted / stats.reserveCalls));
      const z0 = performance.now();
      let seq = 0;
      for (let left = LIMIT.count; left > 0; left -= batch) {
        const now = Date.now();
        const n = Math.min(batch, left);
        const args: (string | number)[] = [];
        for (let i = 0; i < n; i++) args.push(now, `${now}:${seq++}`);
        await redis
          .multi()
          .zremrangebyscore(zkey, 0, now - LIMIT.durationMs)
          .zcard(zkey)
          .zadd(zkey, ...args)
          .exec();
      }
      const zms = performance.now() - z0;
      const zbytes = await memoryOf(stack.client, [zkey]);
      const zcard = await redis.zcard(zkey);
      redis.disconnect();
      const rows: Row[] = [
        {
          structure: 'bucketed lists (confbulk)',
          'grants in the window': stats.granted,
          'entries kept': listed,
          'Redis memory': `${fmt(bytes / 1024, 1)} KiB`,
          'Redis calls': stats.redisCalls,
          'time for the window': `${Math.round(ms)} ms`,
        },
        {
          structure: 'sorted set, one member per request',
          'grants in the window': LIMIT.count,
          'entries kept': zcard,
          'Redis memory': `${fmt(zbytes / 1024, 1)} KiB`,
          'Redis calls': Math.ceil(LIMIT.count / batch),
          'time for the window': `${Math.round(zms)} ms (commands only)`,
        },
      ];
      return {
        redis: stack.redis.version,
        rows,
        targets: [],
        notes: [
          `${WAITING} callers waiting on one limiter until ${LIMIT.count} permits (a whole window) were granted; memory from MEMORY USAGE of every key the limiter keeps for the space.`,
          `The sorted set got the same grants in batches of ${batch} (the limiter's mean batch), trimmed and counted per batch as a reservation would; memory grows with the count, the lists' with the window / bucket (500 entries at most).`,
        ],
        data: { limit: LIMIT, stats, listed, bytes, zbytes, zcard, ms, zms, batch },
      };
    });
  },
};
