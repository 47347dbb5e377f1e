/**
 * The short form of `npm run chaos` for CI: every scenario at its quick size (a 5 s outage,
 * a 3,000-job batch for the kills, an 800-participant announcement with five kills, ...),
 * run through the same code as the full suite and asserting the same promises. About 90 s
 * on two otherwise idle cores. Each scenario
 * starts its own private redis-server, mock and worker processes, and stops them
 * whatever happens.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stopAllChildren } from '../../scripts/bench/support/processes.js';
import { CHAOS_SCENARIOS } from '../../scripts/chaos/scenarios.js';
import { broken } from '../../scripts/chaos/support/scenario.js';

describe('chaos, short form', () => {
  afterAll(async () => {
    await stopAllChildren();
  });

  for (const scenario of CHAOS_SCENARIOS) {
    it(`${scenario.name}: ${scenario.title}`, { timeout: 180_000 }, async () => {
      const result = await scenario.run({ quick: true, log: () => {} });
      const failures = broken(result).map((c) => `${c.promise}: ${c.got}`);
      expect(failures, JSON.stringify(result.figures)).toEqual([]);
    });
  }
});
