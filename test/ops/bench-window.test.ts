/**
 * The benchmark's window arithmetic (scripts/bench/support/window.ts): the figures
 * docs/benchmarks.md publishes are computed by these.
 */
import { describe, expect, it } from 'vitest';
import { maxInWindow, ratePerSecond, slotReuse } from '../../scripts/bench/support/window.js';

describe('bench window arithmetic', () => {
  const limit = { count: 3, durationMs: 1000 };

  it('reads slot reuse as duration over the mean time between a POST and the count-th after it', () => {
    // Bursts of 3 every 1,025 ms (a 25 ms margin): each place is taken again 1,025 ms later.
    const bursts = [0, 1, 2, 1025, 1026, 1027, 2050, 2051, 2052];
    expect(slotReuse(bursts, limit)).toBeCloseTo(1000 / 1025, 6);
    // The same POSTs spread evenly read the same reuse, while the achieved rate differs.
    const even = Array.from({ length: 9 }, (_, k) => (k * 1025) / 3);
    expect(slotReuse(even, limit)).toBeCloseTo(1000 / 1025, 6);
    expect(ratePerSecond(bursts)).toBeGreaterThan(ratePerSecond(even) * 1.3);
    expect(maxInWindow(bursts, 1000)).toBe(3);
  });

  it('reads 0 when no POST has a count-th after it', () => {
    expect(slotReuse([0, 1, 2], limit)).toBe(0);
    expect(slotReuse([], limit)).toBe(0);
  });
});
