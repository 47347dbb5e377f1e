/**
 * Recovery from outages of 3 s, 12 s and 60 s: two `workers/worker.ts` processes drain a
 * backlog at 200/1s while the mock answers every request 503 for the outage's length. From
 * the mock's request log: the first successful POST after each outage ended (target <= 1 s,
 * whatever the length: the circuit probes at a steady cadence instead of a cool-down that
 * doubles), and the requests that reached the mock during the outage once the circuit had
 * opened (its first second is left out: requests already in flight and the threshold's
 * failures), per second (target <= 1.5).
 *
 * Baseline, same run: the same outages with the probe interval at 8 s (what a doubling
 * cool-down from 2 s reaches after two failed probes) shows what the interval buys.
 */
import type { Scenario, Target } from './support/scenario.js';
import { withStack, type Stack } from './support/stack.js';
import { fmt, type Row } from './support/table.js';
import { sleep, until, wallNow } from './support/window.js';

const RATE = { count: 200, durationMs: 1000 };

interface Outage {
  variant: string;
  lengthMs: number;
  firstSuccessAfterMs: number;
  probesPerSecond: number;
  requestsDuring: number;
}

async function runOutages(
  stack: Stack,
  variant: string,
  lengthsMs: number[],
  env: Record<string, string>,
): Promise<Outage[]> {
  await stack.reset();
  stack.mock.setRateLimit(RATE);
  stack.mock.setFaults({ latencyMs: 70, jitterMs: 20 });
  const total = lengthsMs.reduce((a, b) => a + b, 0);
  // Enough work to keep sending through every outage and the gaps between them.
  const jobs = Math.min(
    stack.conference.callSids.length,
    Math.ceil(((total + lengthsMs.length * 3000 + 2000) / 1000) * RATE.count),
  );
  await stack.queues().addJobs(stack.jobs(`outage-${variant}`).slice(0, jobs));
  const workers = [0, 1].map(() =>
    stack.spawnWorker({
      env: { CONFBULK_RATE_LIMIT: `${RATE.count}/${RATE.durationMs}ms`, ...env },
    }),
  );
  await Promise.all(workers.map((w) => w.ready()));
  await sleep(1500);
  const windows: { start: number; end: number }[] = [];
  for (const ms of lengthsMs) {
    const start = wallNow();
    stack.mock.outage(ms, '503');
    windows.push({ start, end: start + ms });
    await sleep(ms);
    await until(
      () =>
        stack.mock
          .requestLog()
          .some((e) => e.method === 'POST' && e.status === 200 && e.t >= start + ms),
      60_000,
      `a success after the ${ms} ms outage (${variant})`,
      50,
    );
    await sleep(2500);
  }
  await Promise.all(workers.map((w) => w.stop()));
  const posts = stack.mock.requestLog().filter((e) => e.method === 'POST');
  return lengthsMs.map((lengthMs, i) => {
    const { start, end } = windows[i] as { start: number; end: number };
    const firstOk = posts.find((e) => e.status === 200 && e.t >= end)?.t ?? NaN;
    const during = posts.filter((e) => e.t >= start + 1000 && e.t < end).length;
    return {
      variant,
      lengthMs,
      firstSuccessAfterMs: firstOk - end,
      probesPerSecond: during / ((lengthMs - 1000) / 1000),
      requestsDuring: posts.filter((e) => e.t >= start && e.t < end).length,
    };
  });
}

export const outages: Scenario = {
  name: 'outages',
  title: 'Outages of 3 s, 12 s and 60 s: first success after each, probes during each',
  async run({ quick, log }) {
    const lengths = quick ? [3000, 12_000] : [3000, 12_000, 60_000];
    const baselineLengths = quick ? [12_000] : [12_000];
    return withStack({ participants: quick ? 8000 : 24_000 }, async (stack) => {
      const ours = await runOutages(stack, 'confbulk (probe every 750 ms)', lengths, {});
      for (const o of ours) {
        log(
          `outages: ${o.lengthMs / 1000} s: first success +${Math.round(o.firstSuccessAfterMs)} ms, ${o.probesPerSecond.toFixed(2)} probes/s`,
        );
      }
      const base = await runOutages(stack, 'probe every 8 s (baseline)', baselineLengths, {
        CONFBULK_CIRCUIT_PROBE_MS: '8000',
      });
      const rows: Row[] = [...ours, ...base].map((o) => ({
        circuit: o.variant,
        outage: `${o.lengthMs / 1000} s`,
        'first success after the end': `${Math.round(o.firstSuccessAfterMs)} ms`,
        'requests during the outage': o.requestsDuring,
        'probes/s once open': fmt(o.probesPerSecond, 2),
      }));
      const worstFirst = Math.max(...ours.map((o) => o.firstSuccessAfterMs));
      const worstProbes = Math.max(...ours.map((o) => o.probesPerSecond));
      const targets: Target[] = [
        {
          what: 'first success after each outage ends (worst)',
          target: '<= 1000 ms',
          got: `${Math.round(worstFirst)} ms`,
          met: worstFirst <= 1000,
        },
        {
          what: 'probe requests per second during each outage (worst)',
          target: '<= 1.5',
          got: fmt(worstProbes, 2),
          met: worstProbes <= 1.5,
        },
      ];
      return {
        redis: stack.redis.version,
        rows,
        targets,
        notes: [
          `Two worker processes at ${RATE.count}/1s with a backlog; the mock answers 503 to every request during an outage, 80 ms +- 10 ms otherwise.`,
          "'Requests during the outage' include the ones in flight when it began and the failures that open the circuit; 'probes/s once open' counts from the outage's second second.",
        ],
        data: { ours, base },
      };
    });
  },
};
