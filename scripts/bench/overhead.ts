/**
 * Overhead: what confbulk's whole pipeline (intents, circuit, rate limiter, outcome
 * bookkeeping) costs against a bare BullMQ worker that only POSTs with the same client, one
 * job per POST. confbulk runs with one participant per job and with several
 * (`CONFBULK_UPDATES_PER_JOB`: its default, or each value of `BENCH_UPDATES_PER_JOB=1,10,20`),
 * so its updates/s are compared with the bare worker's POSTs/s. Unthrottled: no rate limit at
 * the mock and confbulk's set far above what the machine can do; a mock answering at once;
 * the same requests in flight; the same participants, pre-enqueued.
 * Both run as child processes (`workers/worker.ts` and bare-worker.ts), so each has the
 * machine's second core the way a deployment would.
 *
 * Throughput = updates / (time the last job completed - arrival of the first POST), so the
 * processes' start-up is not counted. CPU time per update = the worker process's CPU
 * (utime + stime from /proc, between the first POST and the last completion) plus the
 * Redis server's (`INFO cpu`, same interval), divided by the updates: steadier than
 * updates/s on a shared machine.
 */
import { readFileSync } from 'node:fs';
import { DEFAULTS, MAX_UPDATES_PER_JOB } from '../../src/config.js';
import type { Scenario, Target } from './support/scenario.js';
import { withStack, type Stack, type Worker } from './support/stack.js';
import { ratio, type Row } from './support/table.js';
import { until, wallNow } from './support/window.js';

const BARE = 'bare BullMQ + POST';

/** The bare worker, or confbulk with this many participants per job. */
type Variant = typeof BARE | number;

interface Run {
  variant: Variant;
  round: number;
  /** Participant updates (one POST each). */
  updates: number;
  /** BullMQ jobs that carried them. */
  jobs: number;
  updatesPerSecond: number;
  firstPostToDoneMs: number;
  posts: number;
  /** Commands Redis processed per update (INFO stats, workers' and this process's). */
  redisCommandsPerUpdate: number;
  /** Worker CPU per update (µs). */
  workerCpuUs: number;
  /** Redis server CPU per update (µs). */
  redisCpuUs: number;
}

function variantName(v: Variant): string {
  return v === BARE ? BARE : `confbulk, ${v} per job`;
}

/** The values of `BENCH_UPDATES_PER_JOB`, or 1 and confbulk's default. */
function perJobValues(): number[] {
  const raw = process.env.BENCH_UPDATES_PER_JOB;
  const values = raw ? raw.split(',').map(Number) : [1, DEFAULTS.updatesPerJob];
  for (const v of values) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_UPDATES_PER_JOB) {
      throw new TypeError(
        `BENCH_UPDATES_PER_JOB must list whole numbers from 1 to ${MAX_UPDATES_PER_JOB}; got '${raw}'`,
      );
    }
  }
  return [...new Set(values)];
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

async function runOnce(
  stack: Stack,
  variant: Variant,
  round: number,
  updates: number,
): Promise<Run> {
  await stack.reset();
  const queue = stack.queues().queue('default');
  const participants = stack.jobs(`overhead-${round}`).slice(0, updates);
  const jobs = await stack
    .queues()
    .addInChunks(participants, { perJob: variant === BARE ? 1 : variant });
  const commandsBefore = await commandsProcessed(stack);
  const worker: Worker =
    variant === BARE
      ? stack.spawnBareWorker({ env: { BENCH_CONCURRENCY: String(CONCURRENCY) } })
      : stack.spawnWorker({
          env: {
            CONFBULK_CONCURRENCY: String(CONCURRENCY),
            CONFBULK_RATE_LIMIT: UNTHROTTLED,
            CONFBULK_UPDATES_PER_JOB: String(variant),
          },
        });
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
      `${jobs} jobs completed by ${variantName(variant)}`,
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
    updates,
    jobs,
    updatesPerSecond: (updates / (done - first)) * 1000,
    firstPostToDoneMs: done - first,
    posts: log.filter((e) => e.method === 'POST').length,
    redisCommandsPerUpdate: commands / updates,
    workerCpuUs: (workerCpu / updates) * 1e6,
    redisCpuUs: (redisCpu / updates) * 1e6,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const of = (runs: Run[], v: Variant): Run[] => runs.filter((r) => r.variant === v);
const bestRate = (runs: Run[], v: Variant): number =>
  Math.max(...of(runs, v).map((r) => r.updatesPerSecond));
const medianRate = (runs: Run[], v: Variant): number =>
  median(of(runs, v).map((r) => r.updatesPerSecond));
const medianCpu = (runs: Run[], v: Variant): number =>
  median(of(runs, v).map((r) => r.workerCpuUs + r.redisCpuUs));

export const overhead: Scenario = {
  name: 'overhead',
  title:
    'Overhead: confbulk worker (1 and several participants per job) vs a bare BullMQ worker that only POSTs (unthrottled)',
  async run({ quick, log }) {
    const updates = quick ? 2000 : 10_000;
    const rounds = quick ? 1 : 3;
    const perJob = perJobValues();
    const chosen = DEFAULTS.updatesPerJob;
    const variants: Variant[] = [BARE, ...perJob];
    return withStack({ participants: updates }, async (stack) => {
      const runs: Run[] = [];
      for (let round = 1; round <= rounds; round++) {
        // Rotate which runs first, so that drift of the shared machine favours none.
        const shift = (round - 1) % variants.length;
        const order = [...variants.slice(shift), ...variants.slice(0, shift)];
        for (const variant of order) {
          const run = await runOnce(stack, variant, round, updates);
          log(
            `overhead: ${variantName(variant)} round ${round}: ${Math.round(run.updatesPerSecond)} updates/s`,
          );
          runs.push(run);
        }
      }
      const rows: Row[] = runs.map((r) => ({
        worker: variantName(r.variant),
        round: r.round,
        updates: r.updates,
        'BullMQ jobs': r.jobs,
        'in flight': CONCURRENCY,
        'updates/s': Math.round(r.updatesPerSecond),
        'first POST to last completion': `${(r.firstPostToDoneMs / 1000).toFixed(2)} s`,
        POSTs: r.posts,
        'Redis commands/update': r.redisCommandsPerUpdate.toFixed(1),
        'worker CPU/update': `${Math.round(r.workerCpuUs)} µs`,
        'Redis CPU/update': `${Math.round(r.redisCpuUs)} µs`,
      }));
      const measured = perJob.includes(chosen) ? chosen : (perJob[perJob.length - 1] as number);
      const bestRatio = bestRate(runs, measured) / bestRate(runs, BARE);
      const cpuRatio = medianCpu(runs, BARE) / medianCpu(runs, measured);
      const targets: Target[] = [
        {
          what: `${variantName(measured)}: updates/s / bare BullMQ POSTs/s (best runs)`,
          target: '>= 0.9x',
          got: ratio(bestRatio),
          met: bestRatio >= 0.9,
        },
        {
          what: `${variantName(measured)}: CPU per update, bare / confbulk (worker + Redis, median)`,
          target: '>= 0.9x',
          got: `${ratio(cpuRatio)} (${Math.round(medianCpu(runs, BARE))} vs ${Math.round(medianCpu(runs, measured))} µs)`,
          met: cpuRatio >= 0.9,
        },
      ];
      const medians = perJob.map(
        (v) =>
          `${variantName(v)}: median ${Math.round(medianRate(runs, v))} updates/s = ${ratio(medianRate(runs, v) / medianRate(runs, BARE))} of bare, ${Math.round(medianCpu(runs, v))} µs CPU/update`,
      );
      return {
        redis: stack.redis.version,
        rows,
        targets,
        notes: [
          `Median of ${rounds} round(s) (order rotating): bare ${Math.round(medianRate(runs, BARE))} POSTs/s, ${Math.round(medianCpu(runs, BARE))} µs CPU/POST; ${medians.join('; ')}.`,
          `Mock: zero latency, no rate limit; confbulk limit ${UNTHROTTLED}; ${CONCURRENCY} requests in flight in both (confbulk holds about ${CONCURRENCY} / K + 1 chunks, src/worker/participant-slots.ts).`,
          'Both workers are child processes fed the same pre-enqueued participants; the benchmark process runs the mock.',
        ],
        data: { concurrency: CONCURRENCY, updates, rounds, perJob, bestRatio, cpuRatio, runs },
      };
    });
  },
};
