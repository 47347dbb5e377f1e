/**
 * The short form of `npm run chaos` for CI: every scenario at its quick size (a 5 s outage,
 * a 3,000-job batch for the kills, an 800-participant announcement with five kills, ...),
 * run through the same code as the full suite and asserting the same promises. About 90 s
 * on two otherwise idle cores. Each scenario
 * starts its own private redis-server, mock and worker processes, and stops them
 * whatever happens. With CONFBULK_TEST_TOPOLOGY=cluster each starts a private 3+3 Redis
 * Cluster instead, and the Redis restart is left out (a cluster's failover is
 * test/cluster/failover.test.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stopAllChildren } from '../../scripts/bench/support/processes.js';
import { CHAOS_SCENARIOS } from '../../scripts/chaos/scenarios.js';
import { broken } from '../../scripts/chaos/support/scenario.js';
import { stacksOnCluster } from '../../scripts/bench/support/stack.js';

/** Scenarios that restart the one Redis server of a single-node stack. */
const SINGLE_NODE_ONLY = ['redis-restart'];
const scenarios = stacksOnCluster()
  ? CHAOS_SCENARIOS.filter((s) => !SINGLE_NODE_ONLY.includes(s.name))
  : CHAOS_SCENARIOS;

describe('chaos, short form', () => {
  afterAll(async () => {
    await stopAllChildren();
  });

  for (const scenario of scenarios) {
    it(`${scenario.name}: ${scenario.title}`, { timeout: 180_000 }, async () => {
      const result = await scenario.run({ quick: true, log: () => {} });
      const failures = broken(result).map((c) => `${c.promise}: ${c.got}`);
      expect(failures, JSON.stringify(result.figures)).toEqual([]);
    });
  }
});
