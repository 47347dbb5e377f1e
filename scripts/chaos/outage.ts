/**
 * An API outage mid-batch: every request answered 503 for the first two thirds of it, then
 * every socket reset for the last third (60 s in all; 5 s with --quick). The circuit
 * breaker should open after a few failures and pause the space instead of burning the
 * jobs' attempts, probe with single requests, and close once the API answers again.
 * Promise: no dead letters, everything done soon after the API recovers, and few attempts
 * per job.
 */
import { DEFAULTS } from '../../src/config.js';
import { fmt, seconds } from '../bench/support/table.js';
import { sleep, wallNow } from '../bench/support/window.js';
import { check, type ChaosScenario } from './support/scenario.js';
import { batchChecks, inspect, secretChecks, waitForBatch, withScene } from './support/scene.js';

/** Probe interval of an open circuit (config.ts default) plus a second: the worst wait for the next probe. */
const MAX_COOLDOWN_MS = DEFAULTS.circuit.probeIntervalMs + 1000;
/** What a job may use: the first try, plus the one that failed as the circuit opened. */
const SMALL_ATTEMPTS = 3;

export const outage: ChaosScenario = {
  name: 'outage',
  title: 'API outage mid-batch: 503s, then reset connections',
  async run({ quick, log }) {
    const n = quick ? 1000 : 3000;
    const rate = 500;
    const outageMs = quick ? 5000 : 60_000;
    return withScene({ participants: n, workers: 2, rateLimit: `${rate}/1s` }, async (scene) => {
      const { mock } = scene.stack;
      const handle = await scene.submit();
      await scene.waitApplied(Math.floor(n * 0.2));
      const start = wallNow();
      const before = scene.applied();
      const firstPart = Math.round((outageMs * 2) / 3);
      mock.outage(firstPart, '503');
      log(`outage: API down (503) at ${before}/${n} applied, for ${seconds(outageMs)}`);
      await sleep(firstPart);
      mock.outage(outageMs - firstPart, 'reset');
      log('outage: now resetting connections');
      await sleep(outageMs - firstPart);
      const end = wallNow();
      const { batch, ended } = await waitForBatch(
        scene,
        handle.id,
        MAX_COOLDOWN_MS + (n / rate) * 3000 + 60_000,
      );
      const doneAt = wallNow();
      const log503 = mock.requestLog(start).filter((e) => e.t < end && e.method === 'POST');
      const firstOk = mock.requestLog(end).find((e) => e.method === 'POST' && e.status === 200)?.t;
      const found = await inspect(scene);
      const secrets = await secretChecks(scene);
      const remainingWork = ((n - before) / rate) * 1000;
      const recoveryBudget = MAX_COOLDOWN_MS + 2 * remainingWork + 10_000;
      // Without the circuit, every job in flight would be retried on its own: about
      // concurrency x (quick retries + 1) requests per attempt, attempt after attempt.
      const requestBudget = scene.workers.length * scene.concurrency * 3 + 50;
      return {
        figures: {
          jobs: n,
          outage: seconds(outageMs),
          'POSTs during the outage': log503.length,
          'outage end to first success': seconds(firstOk === undefined ? undefined : firstOk - end),
          'outage end to batch end (time to recover)': seconds(doneAt - end),
          lost: found.lost,
          'dead letters': found.deadLetters,
          'attempts max / mean': `${found.maxAttempts} / ${fmt(found.meanAttempts, 3)}`,
        },
        checks: [
          ...batchChecks(n, batch, ended, found),
          check(
            `the circuit opened: at most ${requestBudget} POSTs during the outage`,
            log503.length <= requestBudget,
            `${log503.length} POSTs in ${seconds(outageMs)}`,
          ),
          check(
            `small attempt counts: every job done within ${SMALL_ATTEMPTS} attempts`,
            found.maxAttempts <= SMALL_ATTEMPTS,
            `max ${found.maxAttempts}, mean ${fmt(found.meanAttempts, 3)}`,
          ),
          check(
            `done soon after recovery: within the probe interval + 1 s (${seconds(MAX_COOLDOWN_MS)}) + 2 x the remaining work + 10 s`,
            doneAt - end <= recoveryBudget,
            `${seconds(doneAt - end)} <= ${seconds(recoveryBudget)}`,
          ),
          ...secrets.checks,
        ],
        notes: [
          `2 worker processes x ${scene.concurrency} in flight at ${rate}/s; circuit defaults (opens after 10 consecutive failures, then one probe across all processes every ${seconds(DEFAULTS.circuit.probeIntervalMs)}).`,
          `Outage: mock \`outage(${firstPart}, '503')\`, then \`outage(${outageMs - firstPart}, 'reset')\`.`,
        ],
      };
    });
  },
};
