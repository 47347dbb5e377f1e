/**
 * Two scenarios on one harness: a run of pre-enqueued jobs through two `workers/worker.ts`
 * processes against the mock (80 ms +- 10 ms), every POST's arrival counted from the
 * mock's request log.
 *
 * - windows: two windows at once, `13800/10s,2000/1s`, configured in confbulk and enforced
 *   by the mock; each must stay exact. Baseline: bare BullMQ workers with BullMQ's limiter
 *   set to the stricter window it can express (2000 per 1 s): it keeps that one and
 *   crosses the 10 s window.
 * - jitter: 30 ms of delivery jitter at the mock (each request is counted up to 30 ms
 *   after it arrived), more than confbulk's starting margin (`DEFAULTS.rateJitterMs`,
 *   10 ms), at 1380/1s. The margin must learn: at most 3 x 429 in the first seconds, none
 *   after. Baseline: the same run with the margin held at its start
 *   (`CONFBULK_RATE_MAX_MARGIN_MS` = the starting margin).
 */
import { DEFAULTS, formatRateLimits, type RateLimitSpec } from '../../src/config.js';
import type { Scenario, Target } from './support/scenario.js';
import { withStack, type Stack } from './support/stack.js';
import { ratio, seconds, type Row } from './support/table.js';
import { maxInWindow, postTimes, ratePerSecond, until } from './support/window.js';

const LATENCY = { latencyMs: 70, jitterMs: 20 };
const PROCESSES = 2;

interface Run {
  name: string;
  posts: number;
  rateLimited: number;
  /** 429s answered within `earlyMs` of the first POST, and after. */
  early429: number;
  late429: number;
  busiest: number[];
  achievedPerSecond: number;
  durationMs: number;
}

async function drain(
  stack: Stack,
  name: string,
  jobs: number,
  limits: RateLimitSpec[],
  spawn: () => ReturnType<Stack['spawnWorker']>,
  faults: Parameters<Stack['mock']['setFaults']>[0],
  earlyMs: number,
): Promise<Run> {
  await stack.reset();
  stack.mock.setRateLimit(limits);
  stack.mock.setFaults({ ...LATENCY, ...faults });
  const queue = stack.queues().queue('default');
  await stack.queues().addJobs(stack.jobs(`w-${name}`).slice(0, jobs));
  const workers = Array.from({ length: PROCESSES }, spawn);
  await Promise.all(workers.map((w) => w.ready()));
  await until(
    async () => (await queue.getJobCountByTypes('completed')) >= jobs,
    180_000,
    `${jobs} jobs (${name})`,
    100,
  );
  await Promise.all(workers.map((w) => w.stop()));
  const log = stack.mock.requestLog().filter((e) => e.method === 'POST');
  const times = postTimes(log);
  const first = times[0] ?? 0;
  const limited = log.filter((e) => e.status === 429);
  return {
    name,
    posts: times.length,
    rateLimited: limited.length,
    early429: limited.filter((e) => e.t - first <= earlyMs).length,
    late429: limited.filter((e) => e.t - first > earlyMs).length,
    busiest: limits.map((l) => maxInWindow(times, l.durationMs)),
    achievedPerSecond: ratePerSecond(times),
    durationMs: (times[times.length - 1] ?? 0) - first,
  };
}

export const windows: Scenario = {
  name: 'windows',
  title: 'Two windows at once (13800/10s,2000/1s), confbulk vs BullMQ limiter at 2000/1s',
  async run({ quick, log }) {
    const limits: RateLimitSpec[] = quick
      ? [
          { count: 1380, durationMs: 10_000 },
          { count: 400, durationMs: 1000 },
        ]
      : [
          { count: 13_800, durationMs: 10_000 },
          { count: 2000, durationMs: 1000 },
        ];
    const jobs = Math.round((limits[0] as RateLimitSpec).count * 1.15);
    return withStack({ participants: jobs }, async (stack) => {
      const spec = formatRateLimits(limits);
      const ours = await drain(
        stack,
        'confbulk',
        jobs,
        limits,
        () => stack.spawnWorker({ env: { CONFBULK_RATE_LIMIT: spec } }),
        {},
        0,
      );
      log(`windows: confbulk busiest ${ours.busiest.join(' / ')}, 429s ${ours.rateLimited}`);
      const short = limits[1] as RateLimitSpec;
      const base = await drain(
        stack,
        'BullMQ limiter',
        jobs,
        limits,
        () =>
          stack.spawnBareWorker({
            env: { BENCH_CONCURRENCY: '500', BENCH_LIMIT: `${short.count}/${short.durationMs}` },
          }),
        {},
        0,
      );
      const rows: Row[] = [ours, base].map((r) => ({
        implementation: r.name,
        POSTs: r.posts,
        ...Object.fromEntries(
          limits.map((l, i) => [
            `busiest ${l.durationMs / 1000} s window`,
            `${r.busiest[i]} (${ratio((r.busiest[i] as number) / l.count)})`,
          ]),
        ),
        '429s': r.rateLimited,
        'first to last POST': seconds(r.durationMs),
      }));
      const exact = limits.every((l, i) => (ours.busiest[i] as number) <= l.count);
      const targets: Target[] = [
        {
          what: `both windows exact (${spec})`,
          target: limits.map((l) => `<= ${l.count}`).join(' and '),
          got: ours.busiest.join(' and '),
          met: exact,
        },
        { what: '429s', target: '0', got: String(ours.rateLimited), met: ours.rateLimited === 0 },
      ];
      return {
        redis: stack.redis.version,
        rows,
        targets,
        notes: [
          `${jobs} jobs, ${PROCESSES} worker processes (500 in flight each); the mock enforces both windows (a request is counted only if both have room).`,
          'BullMQ limiter rows: bare BullMQ workers, `limiter` set to the shorter window (BullMQ has one window), 429s not retried.',
        ],
        data: { limits, jobs, ours, base },
      };
    });
  },
};

export const jitter: Scenario = {
  name: 'jitter',
  title: `Delivery jitter of 30 ms at the mock (margin ${DEFAULTS.rateJitterMs} ms): the margin learns`,
  async run({ quick, log }) {
    const limit: RateLimitSpec = { count: 1380, durationMs: 1000 };
    const secondsOfJobs = quick ? 4 : 8;
    const jobs = limit.count * secondsOfJobs;
    const earlyMs = 3000;
    return withStack({ participants: jobs }, async (stack) => {
      const env = { CONFBULK_RATE_LIMIT: formatRateLimits([limit]) };
      const run = (name: string, extra: Record<string, string>) =>
        drain(
          stack,
          name,
          jobs,
          [limit],
          () => stack.spawnWorker({ env: { ...env, ...extra } }),
          { arrivalJitterMs: 30 },
          earlyMs,
        );
      const learning = await run('confbulk (margin learns)', {});
      log(`jitter: learning ${learning.early429} early / ${learning.late429} late 429s`);
      const fixed = await run(`confbulk, margin held at ${DEFAULTS.rateJitterMs} ms`, {
        CONFBULK_RATE_MAX_MARGIN_MS: String(DEFAULTS.rateJitterMs),
      });
      const rows: Row[] = [learning, fixed].map((r) => ({
        run: r.name,
        POSTs: r.posts,
        [`429s in the first ${earlyMs / 1000} s`]: r.early429,
        '429s after': r.late429,
        'busiest 1 s window': r.busiest[0] as number,
        'achieved / limit': ratio(r.achievedPerSecond / limit.count),
      }));
      const targets: Target[] = [
        {
          what: `429s in the first ${earlyMs / 1000} s`,
          target: '<= 3',
          got: String(learning.early429),
          met: learning.early429 <= 3,
        },
        {
          what: '429s after',
          target: '0',
          got: String(learning.late429),
          met: learning.late429 === 0,
        },
      ];
      return {
        redis: stack.redis.version,
        rows,
        targets,
        notes: [
          `${jobs} jobs at ${limit.count}/1s, ${PROCESSES} worker processes; the mock counts each request a uniform 0-30 ms after it arrives (arrivalJitterMs 30) and answers 80 ms +- 10 ms.`,
          'A 429 counts as one request at the mock; its job goes back to the gate and is sent again later (no attempt used).',
        ],
        data: { limit, jobs, learning, fixed },
      };
    });
  },
};
