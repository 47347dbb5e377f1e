/**
 * The limiter's window lists under moves and returns (src/worker/lua/rate-limit.ts): an
 * entry is found from whichever end of the list is nearer in time, and the list stays one
 * entry per bucket, in time order, with the running total beside it.
 */
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/worker/rate-limiter/options.js';
import { RateLimitStore } from '../../src/worker/rate-limiter/store.js';
import { testRedis, withRedis } from '../helpers/redis.js';

const limit = { count: 10_000, durationMs: 10_000 }; // buckets of 20 ms

describe('rate limiter window lists', () => {
  it('moves and gives back permits of entries near either end of a long list', async () => {
    await withRedis(async (redis, prefix) => {
      const own = testRedis({ maxRetriesPerRequest: null });
      try {
        const store = new RateLimitStore(
          own,
          resolveOptions({ redis: own, prefix, space: 'acme', limits: [limit] }),
        );
        const key = store.keys.windows[0]!;
        // 200 entries of 3 permits, one per 20 ms bucket, the newest 100 ms ago.
        const [sec, usec] = await redis.time();
        const nowMs = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
        const first = Math.floor((nowMs - 100 - 199 * 20) / 20) * 20;
        const stamps = Array.from({ length: 200 }, (_, i) => first + i * 20 + 5);
        await redis.rpush(key, ...stamps.map((t) => `${t} 3`));
        await redis.hset(store.keys.state, `n:${limit.durationMs}`, 600);
        const read = async () =>
          (await redis.lrange(key, 0, -1)).map((e) => e.split(' ').map(Number) as [number, number]);

        // One permit of the oldest entry moves 7 ms on (its own bucket: the entry's stamp
        // moves forward), one of the third 21 ms on (into the fourth's bucket, whose entry
        // it joins), one of the newest 40 ms on (a bucket of its own after it).
        const moved = await store.restamp([
          [stamps[0]!, stamps[0]! + 7, 1],
          [stamps[2]!, stamps[2]! + 21, 1],
          [stamps[199]!, stamps[199]! + 40, 1],
        ]);
        expect(moved).toBe(3);
        let list = await read();
        expect(list[0]).toEqual([stamps[0]! + 7, 3]);
        expect(list[2]).toEqual([stamps[2]!, 2]);
        expect(list[3]).toEqual([stamps[3]! + 1, 4]);
        expect(list.at(-2)).toEqual([stamps[199]!, 2]);
        expect(list.at(-1)).toEqual([stamps[199]! + 40, 1]);
        expect(list).toHaveLength(201);
        // Order kept, one entry per bucket, total unchanged.
        const buckets = list.map(([t]) => Math.floor(t / 20));
        expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
        expect(new Set(buckets).size).toBe(buckets.length);
        expect(Number(await redis.hget(store.keys.state, `n:${limit.durationMs}`))).toBe(600);

        // Give-backs from near the head and near the tail; an emptied entry is removed.
        expect(await store.giveBack(stamps[1]!, 3)).toBe(3);
        expect(await store.giveBack(stamps[198]!, 2)).toBe(2);
        list = await read();
        expect(list).toHaveLength(200);
        expect(list[1]).toEqual([stamps[2]!, 2]);
        expect(list.at(-3)).toEqual([stamps[198]!, 1]);
        expect(list.reduce((sum, [, c]) => sum + c, 0)).toBe(595);
        expect(Number(await redis.hget(store.keys.state, `n:${limit.durationMs}`))).toBe(595);
        // A grant stamped after its bucket's entry cannot be in it: nothing is taken.
        expect(await store.giveBack(stamps[5]! + 10, 1)).toBe(0);
      } finally {
        own.disconnect();
      }
    });
  });
});
