import { describe, expect, it } from 'vitest';
import { RedisClock } from '../../src/worker/rate-limiter/redis-clock.js';

describe('RedisClock (Redis time on the local clock)', () => {
  // Redis is 1,000,000 ms ahead of the local clock in these examples.
  const OFFSET = 1_000_000;

  it('bounds a Redis time by one round trip, on the safe side of both ends', () => {
    const clock = new RedisClock();
    clock.sample(OFFSET + 105, 100, 110); // read somewhere in [100, 110]
    const w = clock.toLocal(OFFSET + 205);
    expect(w.notBefore).toBeGreaterThanOrEqual(205);
    expect(w.notAfter).toBeLessThanOrEqual(205);
    expect(w.notBefore - w.notAfter).toBeCloseTo(10, 0); // plus the drift allowance
  });

  it('narrows to the quickest recent round trips, even if the latest reply was read late', () => {
    const clock = new RedisClock();
    clock.sample(OFFSET + 100.2, 100, 100.3); // quick
    clock.sample(OFFSET + 200.1, 200, 230); // reply read 30 ms late
    const w = clock.toLocal(OFFSET + 300);
    expect(w.notBefore).toBeGreaterThanOrEqual(300);
    expect(w.notAfter).toBeLessThanOrEqual(300);
    expect(w.notBefore - w.notAfter).toBeLessThan(1);
  });

  it('widens old bounds by the largest drift and starts over after a clock step', () => {
    const clock = new RedisClock();
    clock.sample(OFFSET + 100.2, 100, 100.3);
    clock.sample(OFFSET + 10_100.2, 10_100, 10_100.3); // 10 s later: old bound widened by 5 ms
    expect(clock.uncertaintyMs).toBeLessThan(0.5);
    clock.sample(OFFSET + 50 + 10_200.1, 10_200, 10_200.2); // Redis clock stepped 50 ms ahead
    const w = clock.toLocal(OFFSET + 50 + 10_300);
    expect(w.notBefore).toBeGreaterThanOrEqual(10_300);
    expect(w.notAfter).toBeLessThanOrEqual(10_300);
    expect(clock.uncertaintyMs).toBeLessThan(0.5);
  });
});
