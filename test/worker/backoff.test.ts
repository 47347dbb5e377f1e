import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import {
  backoffCap,
  backoffDelay,
  backoffHorizonMs,
  confbulkBackoffStrategy,
} from '../../src/worker/backoff.js';

describe('confbulk backoff', () => {
  const retry = DEFAULTS.retry;

  it('doubles its cap per retry from the base up to the maximum', () => {
    expect([1, 2, 3, 9, 10, 14].map((n) => backoffCap(retry, n))).toEqual([
      1000, 2000, 4000, 256_000, 300_000, 300_000,
    ]);
  });

  it('draws each delay with full jitter between the base and the cap', () => {
    expect(backoffDelay(retry, 5, () => 0)).toBe(1000);
    expect(backoffDelay(retry, 5, () => 0.999999)).toBe(16_000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(retry, 4);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });

  it('keeps a job retrying for over 30 minutes with the default settings', () => {
    expect(backoffHorizonMs(retry)).toBe(2_011_000);
    expect(backoffHorizonMs(retry)).toBeGreaterThanOrEqual(30 * 60_000);
  });

  it('refuses backoff types it does not know', () => {
    const strategy = confbulkBackoffStrategy({ ...retry, backoffBaseMs: 20, backoffMaxMs: 40 });
    expect(strategy(3, 'confbulk')).toBeLessThanOrEqual(40);
    expect(() => strategy(1, 'linear')).toThrow(/unknown backoff type 'linear'/);
  });
});
