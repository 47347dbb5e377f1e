/**
 * Overhead: what confbulk's whole pipeline (intents, circuit, rate limiter, outcome
 * bookkeeping) costs against a bare BullMQ worker that only POSTs with the same client.
 * Unthrottled: no rate limit at the mock and confbulk's set far above what the machine
 * can do; a mock answering at once; the same concurrency; the same pre-enqueued jobs.
 * Both run as child processes (`workers/worker.ts` and bare-worker.ts), so each has the
 * machine's second core the way a deployment would.
 *
 * Throughput = jobs / (time the last job completed - arrival of the first POST), so the
 * processes' start-up is not counted. CPU time per update = the worker process's CPU
 * (utime + stime from /proc, between the first POST and the last completion) plus the
 * Redis server's (`INFO cpu`, same interval), divided by the jobs: steadier than jobs/s
 * on a shared machine.
 */
import { readFileSync } from 'node:fs';
import type { Scenario, Target } from './support/scenario.js';
import { withStack, type Stack, type Worker } from './support/stack.js';
import { ratio, type Row } from './support/table.js';
import { until, wallNow } from './support/window.js';

type Variant = 'bare BullMQ + POST' | 'confbulk';

interface Run {
  variant: Variant;
  round: number;
  jobs: number;
  jobsPerSecond: number;
  firstPostToDoneMs: number;
  posts: number;
  /** Commands Redis processed per job (INFO stats, workers' and this process's). */
  redisCommandsPerJob: number;
  /** Worker CPU per job (µs). */
  workerCpuUs: number;
  /** Redis server CPU per job (µs). */
  redisCpuUs: number;
}

/** CPU seconds (user + system) of process `pid`, from /proc (Linux); NaN elsewhere. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime), counted from field 3 here; 100 ticks/s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

export async function redisCpuSeconds(stack: Stack): Promise<number> {
  const info = await stack.client.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? NaN);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? NaN);
  return user + sys;
}

const CONCURRENCY = 50;
const UNTHROTTLED = '1000000/1s';

async function commandsProcessed(stack: Stack): Promise<number> {
  const info = await stack.client.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function runOnce(stack: Stack, variant: Variant, round: number, jobs: number): Promise<Run> {
  await stack.reset();
  const queue = stack.queues().queue('default');
  await stack.queues().addJobs(stack.jobs(`overhead-${round}`).slice(0, jobs));
  const commandsBefore = await commandsProcessed(stack);
  const worker: Worker =
    variant === 'confbulk'
      ? stack.spawnWorker({
          env: { CONFBULK_CONCURRENCY: String(CONCURRENCY), CONFBULK_RATE_LIMIT: UNTHROTTLED },
        })
      : stack.spawnBareWorker({ env: { BENCH_CONCURRENCY: String(CONCURRENCY) } });
  let cpu0 = NaN;
  let redis0 = NaN;
  try {
    await until(
      async () => {
        if (Number.isNaN(cpu0) && stack.mock.requestLog().some((e) => e.method === 'POST')) {
          cpu0 = cpuSecondsOf(worker.pid);
          redis0 = await redisCpuSeconds(stack);
        }
        return (await queue.getJobCountByTypes('completed')) >= jobs;
      },
      180_000,
      `${jobs} jobs completed by ${variant}`,
      25,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${worker.output().slice(-2000)}`);
  }
  const done = wallNow();
  const workerCpu = cpuSecondsOf(worker.pid) - cpu0;
  const redisCpu = (await redisCpuSeconds(stack)) - redis0;
  const commands = (await commandsProcessed(stack)) - commandsBefore;
  const log = stack.mock.requestLog();
  const first = log.find((e) => e.method === 'POST')?.t ?? done;
  await worker.stop();
  return {
    variant,
    round,
    jobs,
    jobsPerSecond: (jobs / (done - first)) * 1000,
    firstPostToDoneMs: done - first,
    posts: log.filter((e) => e.method === 'POST').length,
    redisCommandsPerJob: commands / jobs,
    workerCpuUs: (workerCpu / jobs) * 1e6,
    redisCpuUs: (redisCpu / jobs) * 1e6,
  };
}

function best(runs: Run[], variant: Variant): number {
  return Math.max(...runs.filter((r) => r.variant === variant).map((r) => r.jobsPerSecond));
}

function median(runs: Run[], variant: Variant): number {
  const rates = runs
    .filter((r) => r.variant === variant)
    .map((r) => r.jobsPerSecond)
    .sort((a, b) => a - b);
  const mid = Math.floor(rates.length / 2);
  return rates.length % 2
    ? (rates[mid] as number)
    : ((rates[mid - 1] as number) + (rates[mid] as number)) / 2;
}

export const overhead: Scenario = {
  name: 'overhead',
  title: 'Overhead: confbulk worker vs a bare BullMQ worker that only POSTs (unthrottled)',
  async run({ quick, log }) {
    const jobs = quick ? 2000 : 10_000;
    const rounds = quick ? 1 : 3;
    return withStack({ participants: jobs }, async (stack) => {
      const runs: Run[] = [];
      for (let round = 1; round <= rounds; round++) {
        // Alternate which runs first, so that drift of the shared machine favours neither.
        const order: Variant[] =
          round % 2 === 1 ? ['bare BullMQ + POST', 'confbulk'] : ['confbulk', 'bare BullMQ + POST'];
        for (const variant of order) {
          const run = await runOnce(stack, variant, round, jobs);
          log(`overhead: ${variant} round ${round}: ${Math.round(run.jobsPerSecond)} jobs/s`);
          runs.push(run);
        }
      }
      const bestRatio = best(runs, 'confbulk') / best(runs, 'bare BullMQ + POST');
      const medianRatio = median(runs, 'confbulk') / median(runs, 'bare BullMQ + POST');
      const rows: Row[] = runs.map((r) => ({
        worker: r.variant,
        round: r.round,
        jobs: r.jobs,
        concurrency: CONCURRENCY,
        'jobs/s': Math.round(r.jobsPerSecond),
        'first POST to last completion': `${(r.firstPostToDoneMs / 1000).toFixed(2)} s`,
        POSTs: r.posts,
        'Redis commands/job': r.redisCommandsPerJob.toFixed(1),
        'worker CPU/job': `${Math.round(r.workerCpuUs)} µs`,
        'Redis CPU/job': `${Math.round(r.redisCpuUs)} µs`,
      }));
      const cpuOf = (v: Variant): number =>
        median(
          runs
            .filter((r) => r.variant === v)
            .map((r) => ({ ...r, jobsPerSecond: r.workerCpuUs + r.redisCpuUs })),
          v,
        );
      const cpuRatio = cpuOf('bare BullMQ + POST') / cpuOf('confbulk');
      const targets: Target[] = [
        {
          what: 'confbulk jobs/s / bare BullMQ jobs/s (best runs)',
          target: '>= 0.9x',
          got: ratio(bestRatio),
          met: bestRatio >= 0.9,
        },
        {
          what: 'CPU per update, bare / confbulk (worker + Redis, median)',
          target: '>= 0.9x',
          got: `${ratio(cpuRatio)} (${Math.round(cpuOf('bare BullMQ + POST'))} vs ${Math.round(cpuOf('confbulk'))} µs)`,
          met: cpuRatio >= 0.9,
        },
      ];
      return {
        redis: stack.redis.version,
        rows,
        targets,
        notes: [
          `Median of ${rounds} round(s): ${ratio(medianRatio)} (order alternating). Mock: zero latency, no rate limit; confbulk limit ${UNTHROTTLED}.`,
          'Both workers are child processes fed the same pre-enqueued jobs; the benchmark process runs the mock.',
        ],
        data: { concurrency: CONCURRENCY, jobs, rounds, bestRatio, medianRatio, cpuRatio, runs },
      };
    });
  },
};
