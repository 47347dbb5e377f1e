/**
 * Rate exactness: does the whole of N worker processes stay within a limit in every
 * sliding window, as a server counting in sliding windows (SignalWire, the mock) sees it,
 * while using nearly all of it? Measured from the arrival time of every POST in the mock's
 * request log, for 1, 2 and 4 `workers/worker.ts` processes, with the mock enforcing the
 * same limit and answering after 80 ms +- 10 ms. Beside it, bare BullMQ workers with
 * BullMQ's own `limiter: { max, duration }` on the same setup, one job per POST.
 *
 * confbulk's jobs are enqueued as its fan-out makes them: chunks of the default
 * `updatesPerJob` participants (src/jobs/chunk-job.ts), each update still its own request
 * with its own permit. Until 2026-12-01 they were one participant per job, a shape confbulk
 * never enqueues, which measured BullMQ's per-job cost in freshly started processes: those
 * sent 681-1,297 of the first window's 1,380 in its duration.
 *
 * Two rates: achieved = (POSTs - 1) / (last - first), what a backlog drained at (a burst at
 * the start counts in its favour: an idle window may send its whole count at once); slot
 * reuse = duration / the mean time between the k-th POST and the (k + count)-th, how soon a
 * window's place is taken again. An exact limiter never exceeds 1.0 on reuse; it reads
 * 1 / (1 + margin / duration) at best.
 *
 * The benchmark process, which hosts the mock (and during a run does nothing else but poll
 * a job count every 100 ms), runs at nice -5 when permitted (root), `BENCH_MOCK_NICE` to
 * change it (0: off); the workers and Redis run at normal priority. See
 * support/priority.ts for why.
 */
import { DEFAULTS, type RateLimitSpec } from '../../src/config.js';
import { cpuSecondsOf, redisCpuSeconds } from './overhead.js';
import { raiseOwnPriority } from './support/priority.js';
import type { Scenario, ScenarioResult, Target } from './support/scenario.js';
import { withStack, type Stack, type Worker } from './support/stack.js';
import { ratio, type Row } from './support/table.js';
import { maxInWindow, postTimes, ratePerSecond, slotReuse, until } from './support/window.js';

type Implementation = 'confbulk' | 'BullMQ limiter';

interface Run {
  implementation: Implementation;
  limit: RateLimitSpec;
  processes: number;
  jobs: number;
  posts: number;
  achievedPerSecond: number;
  achievedOfLimit: number;
  /** POSTs within the first window's duration from the first one (a cold start shows here). */
  firstWindowPosts: number;
  /** Rate over the POSTs after the first window's duration: what a backlog settles at. */
  afterFirstOfLimit: number;
  /** Duration / mean time from the k-th POST to the (k + count)-th (see the top). */
  slotReuse: number;
  maxWindow: number;
  maxWindowOfLimit: number;
  rateLimited: number;
  /** Worker CPU per POST (ms), from ready to stop (confbulk rows). */
  workerCpuMs?: number;
  /** Redis server CPU per POST (ms), same interval. */
  redisCpuMs?: number;
  /** Worker CPU seconds per second of the POST span: cores the workers kept busy. */
  workerCores?: number;
  /** Limiter stats summed over the workers (their 'rate limiter closed' lines). */
  limiter?: {
    reserveCalls: number;
    fullReplies: number;
    dropped: number;
    restamped: number;
    movedMs: number;
  };
}

/** Sums the limiter stats each worker logged when it closed. */
function limiterStats(workers: Worker[]): Run['limiter'] {
  const sum = { reserveCalls: 0, fullReplies: 0, dropped: 0, restamped: 0, movedMs: 0 };
  for (const w of workers) {
    for (const line of w.output().split('\n')) {
      if (!line.includes('"rate limiter closed"')) continue;
      const stats = (JSON.parse(line) as { stats: Record<keyof typeof sum, number> }).stats;
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += stats[k] ?? 0;
    }
  }
  return sum;
}

const LIMITS: RateLimitSpec[] = [
  { count: 1380, durationMs: 1000 },
  { count: 200, durationMs: 1000 },
];
/** Jobs in flight per process: enough for 1,380/s at 80 ms in one process. */
const CONCURRENCY = 200;
const LATENCY = { latencyMs: 70, jitterMs: 20 };
/** Nice value of this process (the mock's) during the scenario. */
const MOCK_NICE = Number(process.env.BENCH_MOCK_NICE ?? -5);

function spawn(
  stack: Stack,
  implementation: Implementation,
  limit: RateLimitSpec,
  i: number,
): Worker {
  const name = `${implementation} ${i + 1}`;
  return implementation === 'confbulk'
    ? stack.spawnWorker({
        name,
        env: {
          CONFBULK_CONCURRENCY: String(CONCURRENCY),
          CONFBULK_RATE_LIMIT: `${limit.count}/${limit.durationMs}ms`,
        },
      })
    : stack.spawnBareWorker({
        name,
        env: {
          BENCH_CONCURRENCY: String(CONCURRENCY),
          BENCH_LIMIT: `${limit.count}/${limit.durationMs}`,
        },
      });
}

async function runOnce(
  stack: Stack,
  implementation: Implementation,
  limit: RateLimitSpec,
  processes: number,
  seconds: number,
): Promise<Run> {
  await stack.reset();
  stack.mock.setRateLimit(limit);
  stack.mock.setFaults(LATENCY);
  // Jobs first: enqueueing serialises thousands of jobs in this process, which also runs
  // the mock, and would delay (and bunch up) the arrival times it stamps. On a paused
  // queue, resumed once every process is ready: a process started first would otherwise
  // send while the others still load their code on the same cores.
  const jobs = Math.round((limit.count * seconds * 1000) / limit.durationMs);
  const queue = stack.queues().queue('default');
  await queue.pause();
  const participants = stack.jobs(`rate-${processes}`).slice(0, jobs);
  const queued =
    implementation === 'confbulk'
      ? await stack.queues().addInChunks(participants, { perJob: DEFAULTS.updatesPerJob })
      : (await stack.queues().addJobs(participants), jobs);
  const workers = Array.from({ length: processes }, (_, i) =>
    spawn(stack, implementation, limit, i),
  );
  await Promise.all(workers.map((w) => w.ready()));
  const cpu0 = workers.reduce((sum, w) => sum + cpuSecondsOf(w.pid), 0);
  const redis0 = await redisCpuSeconds(stack);
  await queue.resume();
  await until(
    async () => (await queue.getJobCountByTypes('completed')) >= queued,
    seconds * 4000 + 60_000,
    `${jobs} jobs through ${processes} ${implementation} process(es)`,
    100,
  );
  const workerCpu = workers.reduce((sum, w) => sum + cpuSecondsOf(w.pid), 0) - cpu0;
  const redisCpu = (await redisCpuSeconds(stack)) - redis0;
  await Promise.all(workers.map((w) => w.stop()));
  const times = postTimes(stack.mock.requestLog());
  const spanS = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
  const perSecond = ratePerSecond(times);
  const limitPerSecond = (limit.count * 1000) / limit.durationMs;
  const maxWindow = maxInWindow(times, limit.durationMs);
  const firstWindowEnd = (times[0] ?? 0) + limit.durationMs;
  const later = times.filter((t) => t >= firstWindowEnd);
  return {
    implementation,
    limit,
    processes,
    jobs,
    posts: times.length,
    achievedPerSecond: perSecond,
    achievedOfLimit: perSecond / limitPerSecond,
    firstWindowPosts: times.length - later.length,
    afterFirstOfLimit: ratePerSecond(later) / limitPerSecond,
    slotReuse: slotReuse(times, limit),
    maxWindow,
    maxWindowOfLimit: maxWindow / limit.count,
    rateLimited: stack.mock.counters().rateLimited,
    ...(implementation === 'confbulk' && {
      workerCpuMs: (workerCpu * 1000) / times.length,
      redisCpuMs: (redisCpu * 1000) / times.length,
      workerCores: workerCpu / spanS,
      limiter: limiterStats(workers),
    }),
  };
}

function targetsOf(runs: Run[]): Target[] {
  const ours = runs.filter((r) => r.implementation === 'confbulk');
  const worstAchieved = Math.min(...ours.map((r) => r.achievedOfLimit));
  const worstWindow = Math.max(...ours.map((r) => r.maxWindowOfLimit));
  const limited = ours.reduce((s, r) => s + r.rateLimited, 0);
  return [
    {
      what: 'confbulk achieved rate / limit (lowest run)',
      target: '>= 0.97',
      got: worstAchieved.toFixed(3),
      met: worstAchieved >= 0.97,
    },
    {
      what: 'confbulk busiest sliding window / limit (highest run)',
      target: '<= 1.0',
      got: worstWindow.toFixed(3),
      met: worstWindow <= 1,
    },
    {
      what: 'confbulk 429s received (all runs)',
      target: '0',
      got: String(limited),
      met: limited === 0,
    },
  ];
}

export const rateExactness: Scenario = {
  name: 'rate',
  title:
    'Rate exactness: 1, 2, 4 worker processes vs BullMQ limiter (mock: same limit, 80 ms +- 10 ms)',
  async run({ quick, log }) {
    const seconds = quick ? 3 : 8;
    const processCounts = quick ? [1, 2] : [1, 2, 4];
    const participants = Math.max(
      ...LIMITS.map((l) => Math.round((l.count * seconds * 1000) / l.durationMs)),
    );
    return withStack({ participants }, async (stack) => {
      // After withStack started Redis, so that only the mock's process is raised.
      const restorePriority = raiseOwnPriority(MOCK_NICE);
      const mockNice = restorePriority ? Math.min(MOCK_NICE, 0) : 0;
      if (!restorePriority) log(`rate: could not raise the mock's priority (nice ${MOCK_NICE})`);
      try {
        return await measure(stack, seconds, processCounts, mockNice, log);
      } finally {
        restorePriority?.();
      }
    });
  },
};

async function measure(
  stack: Stack,
  seconds: number,
  processCounts: number[],
  mockNice: number,
  log: (message: string) => void,
): Promise<ScenarioResult> {
  const runs: Run[] = [];
  for (const limit of LIMITS) {
    for (const processes of processCounts) {
      for (const implementation of ['confbulk', 'BullMQ limiter'] as const) {
        const run = await runOnce(stack, implementation, limit, processes, seconds);
        log(
          `rate: ${implementation} ${limit.count}/${limit.durationMs}ms x${processes}: ` +
            `${run.achievedPerSecond.toFixed(0)}/s, busiest window ${run.maxWindow}, 429s ${run.rateLimited}`,
        );
        runs.push(run);
      }
    }
  }
  const rows: Row[] = runs.map((r) => ({
    implementation: r.implementation,
    limit: `${r.limit.count}/${r.limit.durationMs / 1000}s`,
    processes: r.processes,
    POSTs: r.posts,
    'achieved/s': Math.round(r.achievedPerSecond),
    'achieved / limit': ratio(r.achievedOfLimit),
    'POSTs in the first window': r.firstWindowPosts,
    'after it / limit': ratio(r.afterFirstOfLimit),
    'slot reuse': ratio(r.slotReuse),
    'busiest window': r.maxWindow,
    'busiest window / limit': ratio(r.maxWindowOfLimit),
    '429s': r.rateLimited,
    'worker CPU ms/POST': r.workerCpuMs?.toFixed(3) ?? '',
    'Redis CPU ms/POST': r.redisCpuMs?.toFixed(3) ?? '',
    'worker cores busy': r.workerCores?.toFixed(2) ?? '',
    'full replies / reservations': r.limiter
      ? `${r.limiter.fullReplies} / ${r.limiter.reserveCalls}`
      : '',
    'dropped, moved': r.limiter ? `${r.limiter.dropped}, ${r.limiter.restamped}` : '',
    'mean move ms': r.limiter?.restamped
      ? (r.limiter.movedMs / r.limiter.restamped).toFixed(1)
      : '',
  }));
  return {
    redis: stack.redis.version,
    rows,
    targets: targetsOf(runs),
    notes: [
      `${seconds} s of jobs at the limit per run; ${CONCURRENCY} jobs in flight per process; the mock enforces the same limit in sliding windows.`,
      "Achieved rate = (POSTs - 1) / (last POST - first POST); busiest window = most POST arrivals in any window of the limit's duration, computed exactly from the mock's log.",
      "POSTs in the first window = those within the limit's duration of the first one (freshly started processes, cold code); after it = the achieved rate over the POSTs that followed, what a backlog settles at. The target is on the whole run.",
      `Slot reuse = the limit's duration / the mean time from the k-th POST to the (k + count)-th: how soon a window's place is taken again, whatever the shape of the bursts (an exact limiter reads at most 1.0; the rule's ceiling is 1 / (1 + margin / duration)). confbulk's jobs are chunks of ${DEFAULTS.updatesPerJob} participants, as its fan-out enqueues them (one request and one permit per participant); the BullMQ rows have a job per POST.`,
      'BullMQ limiter rows: bare BullMQ workers with `limiter: { max, duration }`, not retrying 429s (their POSTs are counted as sent).',
      `The mock's process ran at nice ${mockNice} (it stands in for servers that do not share the workers' CPUs); workers and Redis at nice 0.`,
      'confbulk rows: worker and Redis CPU (from /proc and INFO cpu, workers ready to stopped) per POST; cores busy = worker CPU s per s of the POST span; full replies = reservations answered that a window was full (callers waited for a permit), of all reservations; dropped = permits granted but not used within the lateness bound (the process was too slow to use them); moved = requests counted later than their grant (from their answer minus the fastest round trip, less the margin plus 2 ms; in the first second decided just before their grant would leave its window), and by how much on average.',
    ],
    data: { seconds, concurrency: CONCURRENCY, latency: LATENCY, mockNice, runs },
  };
}
