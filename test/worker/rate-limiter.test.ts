import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { dataKey } from '../../src/queues.js';
import {
  createRateLimiter,
  RateLimiterClosedError,
  type RateLimiter,
  type RateLimiterOptions,
} from '../../src/worker/rate-limiter.js';
import { testRedisUrl, withRedis } from '../helpers/redis.js';

type Extra = Partial<Omit<RateLimiterOptions, 'redis' | 'prefix' | 'space'>> & {
  subscribe?: boolean;
};

/** Limiters on separate connections, as separate processes would have them. */
async function withLimiters<T>(
  specs: Extra[],
  fn: (limiters: RateLimiter[], redis: Redis, prefix: string) => Promise<T>,
): Promise<T> {
  return withRedis(async (redis, prefix) => {
    const connections: Redis[] = [];
    const limiters: RateLimiter[] = [];
    try {
      for (const { subscribe, ...spec } of specs) {
        const own = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
        const subscriber = subscribe ? new Redis(testRedisUrl()) : undefined;
        connections.push(own, ...(subscriber ? [subscriber] : []));
        if (subscriber) await subscriber.ping();
        limiters.push(
          createRateLimiter({
            redis: own,
            subscriber,
            prefix,
            space: 'acme',
            limit: { count: 200, durationMs: 500 },
            ...spec,
          }),
        );
      }
      return await fn(limiters, redis, prefix);
    } finally {
      await Promise.all(limiters.map((l) => l.close()));
      for (const c of connections) c.disconnect();
    }
  });
}

/** Largest number of timestamps in any half-open window [t, t + width). */
function maxInWindow(times: number[], width: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (j < sorted.length && (sorted[j] as number) < (sorted[i] as number) + width) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

/** Acquires `n` permits at once and records when each was granted. */
async function backlog(limiter: RateLimiter, n: number): Promise<number[]> {
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: n }, () => limiter.acquire().then(() => times.push(performance.now()))),
  );
  return times;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RateLimiter', () => {
  it('never grants more than count in any sliding window across instances, near the limit', async () => {
    // The whole jitter budget for late grants (1000 + 50 ms of slots per window), so that
    // the window bound is tested at its edge while a briefly starved test process (shared
    // machine) does not lose permits.
    const spec: Extra = {
      limit: { count: 300, durationMs: 1000 },
      jitterMs: 50,
      maxLatenessMs: 50,
    };
    await withLimiters([spec, spec, spec], async (limiters) => {
      const all = (await Promise.all(limiters.map((l) => backlog(l, 150)))).flat();
      expect(all).toHaveLength(450);
      expect(maxInWindow(all, 1000)).toBeLessThanOrEqual(300);
      const span = Math.max(...all) - Math.min(...all);
      const achieved = ((all.length - 1) / span) * 1000;
      expect(achieved / 300).toBeGreaterThanOrEqual(0.9);
      const calls = limiters.reduce((sum, l) => sum + l.stats().reserveCalls, 0);
      expect(calls).toBeLessThan(450 / 5);
      for (const l of limiters) expect(l.stats().waiting).toBe(0);
    });
  });

  it('keeps every server window within count when delivery varies within the jitter budget', async () => {
    // The worst delivery for a sliding window: requests granted in alternate seconds reach
    // the server late by all the budget that the lateness bound leaves (40 ms), so a window
    // opening on late ones closes on prompt ones and holds 1000 + 40 ms of grants.
    const spec: Extra = {
      limit: { count: 300, durationMs: 1000 },
      jitterMs: 50,
      maxLatenessMs: 10,
    };
    const deliveryMs = 40;
    await withLimiters([spec, spec], async (limiters) => {
      const grants = (await Promise.all(limiters.map((l) => backlog(l, 250)))).flat();
      const t0 = Math.min(...grants);
      const arrivals = grants.map(
        (t) => t + (Math.floor((t - t0) / 1000) % 2 === 0 ? deliveryMs : 0),
      );
      expect(maxInWindow(arrivals, 1000)).toBeLessThanOrEqual(300);
      const achieved = ((grants.length - 1) / (Math.max(...grants) - t0)) * 1000;
      expect(achieved / 300).toBeGreaterThanOrEqual(0.85);
    });
  });

  it('spaces slots by (duration + jitter budget) / count: a time, not a fraction of the rate', async () => {
    // The default 25 ms cost 2.4 % of 1380/1s but 0.25 % of 13800/10s.
    const cases: [Extra, number][] = [
      [{ limit: { count: 1380, durationMs: 1000 } }, 1025 / 1380],
      [{ limit: { count: 13_800, durationMs: 10_000 } }, 10_025 / 13_800],
      [{ limit: { count: 1380, durationMs: 1000 }, jitterMs: 50, safety: 0.5 }, 1050 / 690],
      // A lateness bound beyond the budget widens the margin to it.
      [{ limit: { count: 200, durationMs: 1000 }, jitterMs: 0, maxLatenessMs: 40 }, 1040 / 200],
    ];
    for (const [spec, interval] of cases) {
      await withLimiters([spec], async ([limiter]) => {
        await limiter!.acquire();
        expect(limiter!.stats().intervalMs).toBeCloseTo(interval, 5);
      });
    }
  });

  it('spreads 13800/10s evenly at ~1380/s instead of bursting', async () => {
    const spec: Extra = { limit: { count: 13_800, durationMs: 10_000 }, maxLatenessMs: 100 };
    await withLimiters([spec], async ([limiter]) => {
      const times = await backlog(limiter!, 700);
      const first = Math.min(...times);
      const rate = ((times.length - 1) / (Math.max(...times) - first)) * 1000;
      expect(rate).toBeGreaterThan(1380 * 0.85);
      expect(rate).toBeLessThan(1380);
      // A token bucket would grant all 700 at once; here 100 ms hold at most their
      // 136 slots plus 100 ms of late ones.
      expect(maxInWindow(times, 100)).toBeLessThanOrEqual(272);
    });
  });

  it('removes an aborted waiter and gives its permit to the next caller', async () => {
    await withLimiters([{ limit: { count: 4, durationMs: 1000 } }], async ([limiter]) => {
      const l = limiter!;
      await l.acquire();
      const controller = new AbortController();
      const aborted = l.acquire(controller.signal);
      const reason = new Error('job cancelled');
      controller.abort(reason);
      await expect(aborted).rejects.toBe(reason);
      expect(l.stats().waiting).toBe(0);
      const waited = await l.acquire();
      // The aborted waiter's slot (~256 ms after the first) went to this caller; the next
      // one would have been ~512 ms.
      expect(waited).toBeLessThan(400);
      await expect(l.acquire(AbortSignal.abort(reason))).rejects.toBe(reason);
    });
  });

  it('pauses every instance after a 429 with Retry-After', async () => {
    await withLimiters([{}, { subscribe: true }, {}], async (limiters) => {
      await Promise.all(limiters.map((l) => l.acquire()));
      const t0 = performance.now();
      await limiters[0]!.onRateLimited(300);
      const granted = await Promise.all(
        limiters.map((l) => l.acquire().then(() => performance.now())),
      );
      for (const t of granted) expect(t - t0).toBeGreaterThanOrEqual(295);
      expect(limiters[0]!.stats().rateFactor).toBeCloseTo(0.97, 2);
    });
  });

  it('drops permits another instance had reserved inside the pause (pub/sub)', async () => {
    const specs: Extra[] = [
      { limit: { count: 100, durationMs: 1000 } },
      { limit: { count: 100, durationMs: 1000 }, subscribe: true },
    ];
    await withLimiters(specs, async ([a, b]) => {
      const times: number[] = [];
      const done = Promise.all(
        Array.from({ length: 15 }, () => b!.acquire().then(() => times.push(performance.now()))),
      );
      await sleep(40);
      const t429 = performance.now();
      await a!.onRateLimited(300);
      await done;
      const inPause = times.filter((t) => t > t429 + 10 && t < t429 + 295);
      expect(inPause).toEqual([]);
      expect(b!.stats().dropped).toBeGreaterThan(0);
    });
  });

  it('does not pause on remaining: 0 at or below the server limit (a sliding window at its limit)', async () => {
    await withLimiters([{}], async ([limiter]) => {
      const l = limiter!;
      await l.acquire();
      const calls = l.stats().redisCalls;
      // Whole seconds, as a server rounding its reset up might say; or no limit at all.
      await l.observe({ remaining: 0, resetAt: Date.now() + 900, limit: 200 });
      await l.observe({ remaining: 0, resetAt: Date.now() + 900 });
      expect(l.stats().redisCalls).toBe(calls);
      const waited = await l.acquire();
      expect(waited).toBeLessThan(100);
      expect(l.stats().pausedUntil).toBe(0);
    });
  });

  it('pauses until the reset when the server limit counts a far longer window, touching Redis once', async () => {
    await withLimiters([{}, {}], async ([a, b]) => {
      await b!.acquire();
      const t0 = performance.now();
      // 10 in some window, against 200 per 500 ms here: not this window; its reset holds.
      const info = { limit: 10, remaining: 0, resetAt: Date.now() + 300 };
      await a!.observe(info);
      const calls = a!.stats().redisCalls;
      await a!.observe(info);
      await a!.observe({ ...info, remaining: 5 });
      expect(a!.stats().redisCalls).toBe(calls);
      await b!.acquire();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(280);
    });
  });

  it('adopts a lower server limit for the same window', async () => {
    await withLimiters([{}], async ([limiter], redis, prefix) => {
      const l = limiter!;
      await l.observe({ limit: 100 });
      expect(await redis.hget(dataKey(prefix, 'ratelimit', 'acme'), 'serverCount')).toBe('100');
      const times = await backlog(l, 21);
      // 20 intervals of (500 + 25) / 100 ms instead of half that.
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(90);
      await l.observe({ limit: 500 });
      expect(await redis.hget(dataKey(prefix, 'ratelimit', 'acme'), 'serverCount')).toBeNull();
    });
  });

  it('lowers the shared rate by 3 % per 429 episode, not per 429, and recovers it over time', async () => {
    const spec: Extra = { recoveryPerSecond: 0.5, backoffBaseMs: 100 };
    await withLimiters([spec, spec], async ([a, b], redis, prefix) => {
      const key = dataKey(prefix, 'ratelimit', 'acme');
      await a!.onRateLimited();
      // Answers to requests in flight before the pause: the same episode.
      await Promise.all([b!.onRateLimited(), b!.onRateLimited(50), a!.onRateLimited()]);
      expect(Number(await redis.hget(key, 'factor'))).toBeCloseTo(0.97, 5);
      const [paused, at] = (await redis.hmget(key, 'pausedUntil', 'factorAt')).map(Number);
      expect(paused! - at!).toBeCloseTo(100, 0);
      await b!.acquire();
      expect(b!.stats().rateFactor).toBeLessThan(0.98);
      await sleep(200);
      await b!.acquire();
      expect(b!.stats().rateFactor).toBe(1);

      await a!.onRateLimited(); // a new episode: the backoff doubles
      const [paused2, at2] = (await redis.hmget(key, 'pausedUntil', 'factorAt')).map(Number);
      expect(paused2! - at2!).toBeCloseTo(200, 0);
      a!.onSuccess();
      await sleep(250);
      expect(await redis.hget(key, 'streak')).toBe('0');
      await b!.onRateLimited(); // first episode again after a success
      const [paused3, at3] = (await redis.hmget(key, 'pausedUntil', 'factorAt')).map(Number);
      expect(paused3! - at3!).toBeCloseTo(100, 0);
    });
  });

  it('compounds the decrease over episodes that keep coming, down to the floor', async () => {
    const spec: Extra = { recoveryPerSecond: 0, minRateFactor: 0.9 };
    await withLimiters([spec], async ([l], redis, prefix) => {
      const key = dataKey(prefix, 'ratelimit', 'acme');
      await l!.onRateLimited(10);
      await sleep(15);
      await l!.onRateLimited(10);
      expect(Number(await redis.hget(key, 'factor'))).toBeCloseTo(0.97 * 0.97, 5);
      for (let i = 0; i < 3; i++) {
        await sleep(15);
        await l!.onRateLimited(10);
      }
      expect(Number(await redis.hget(key, 'factor'))).toBeCloseTo(0.9, 5);
    });
  });

  it('rejects waiters when closed, and is idempotent', async () => {
    await withLimiters([{ limit: { count: 2, durationMs: 1000 } }], async ([limiter]) => {
      const l = limiter!;
      await l.acquire();
      const waiting = l.acquire().catch((err: unknown) => err);
      await l.close();
      await l.close();
      expect(await waiting).toBeInstanceOf(RateLimiterClosedError);
      await expect(l.acquire()).rejects.toThrow(/closed/);
    });
  });

  it('names the option and what is allowed in a bad option', () => {
    const redis = new Redis(testRedisUrl(), { lazyConnect: true });
    const base = { redis, prefix: '{x}', space: 'acme', limit: { count: 10, durationMs: 1000 } };
    expect(() => createRateLimiter({ ...base, safety: 1.5 })).toThrow(/`safety`.*\[0.01, 1\]/);
    expect(() => createRateLimiter({ ...base, jitterMs: -1 })).toThrow(/`jitterMs`.*0 to 60000/);
    expect(() => createRateLimiter({ ...base, limit: { count: 0, durationMs: 1000 } })).toThrow(
      /`limit.count`/,
    );
    redis.disconnect();
  });
});
