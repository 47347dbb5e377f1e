/**
 * Benchmark of the per-space rate limiter across processes.
 *
 * For each limit (1380/1s, 200/1s) and each process count (1, 2, 4), forks that many
 * children of this file; each builds a limiter on its own Redis connection and keeps a
 * backlog (`BACKLOG` acquires outstanding, like a worker with that concurrency) for
 * `SECONDS`, recording the wall time of every grant (`performance.timeOrigin +
 * performance.now()`, comparable across processes). Prints achieved rate / limit, the
 * largest count in any sliding window / limit, dropped permits and Redis calls per second,
 * and writes everything to bench-results/limiter.json.
 *
 *   npx tsx scripts/bench/limiter.ts [seconds]
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { RateLimitSpec } from '../../src/config.js';
import { createRateLimiter, type RateLimiterStats } from '../../src/worker/rate-limiter.js';
import { limiterKeys } from '../../src/worker/rate-limiter/keys.js';
import { provisionRedis } from '../redis.js';

const LIMITS: RateLimitSpec[] = [
  { count: 1380, durationMs: 1000 },
  { count: 200, durationMs: 1000 },
];
const PROCESSES = [1, 2, 4];
const BACKLOG = 200;
const CHILD_FLAG = '--limiter-child';

interface ChildTask {
  url: string;
  prefix: string;
  limit: RateLimitSpec;
  startAt: number;
  endAt: number;
}

interface ChildReport {
  times: number[];
  stats: RateLimiterStats;
}

const wallNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function runChild(task: ChildTask): Promise<ChildReport> {
  const redis = new Redis(task.url, { maxRetriesPerRequest: null });
  const limiter = createRateLimiter({
    redis,
    prefix: task.prefix,
    space: 'bench',
    limits: [task.limit],
  });
  const times: number[] = [];
  await redis.ping();
  await sleep(task.startAt - wallNow());
  const loop = async (): Promise<void> => {
    while (wallNow() < task.endAt) {
      await limiter.acquire();
      times.push(wallNow());
    }
  };
  await Promise.all(Array.from({ length: BACKLOG }, loop));
  const stats = limiter.stats();
  await limiter.close();
  redis.disconnect();
  return { times, stats };
}

function child(): void {
  process.once('message', (task: ChildTask) => {
    runChild(task).then(
      (report) => process.send?.(report, () => process.exit(0)),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
  process.send?.('ready');
}

function forkChild(task: ChildTask): Promise<ChildReport> {
  const proc = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    proc.on('message', (msg: unknown) => {
      if (msg === 'ready') proc.send(task);
      else resolve(msg as ChildReport);
    });
    proc.once('exit', (code) => {
      if (code !== 0) reject(new Error(`limiter bench child exited with code ${code}`));
    });
  });
}

/** Largest number of timestamps in any half-open window [t, t + width). */
function maxInWindow(sorted: number[], width: number): number {
  let best = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (j < sorted.length && (sorted[j] as number) < (sorted[i] as number) + width) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

interface Row {
  limit: string;
  processes: number;
  granted: number;
  achievedPerSecond: number;
  achievedOfLimit: number;
  maxWindow: number;
  maxWindowOfLimit: number;
  dropped: number;
  redisCallsPerSecond: number;
}

async function runCase(
  url: string,
  limit: RateLimitSpec,
  processes: number,
  seconds: number,
): Promise<Row> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  // Children need about a second to start under tsx; the start time leaves them room.
  const startAt = wallNow() + 2500;
  const endAt = startAt + seconds * 1000;
  const task: ChildTask = { url, prefix, limit, startAt, endAt };
  const reports = await Promise.all(Array.from({ length: processes }, () => forkChild(task)));
  const cleanup = new Redis(url);
  const keys = limiterKeys(prefix, 'bench', [limit]);
  await cleanup.del(keys.state, ...keys.windows);
  cleanup.disconnect();
  const times = reports.flatMap((r) => r.times).sort((a, b) => a - b);
  const span = (times[times.length - 1] ?? 0) - (times[0] ?? 0);
  const perSecond = span > 0 ? ((times.length - 1) / span) * 1000 : 0;
  const maxWindow = maxInWindow(times, limit.durationMs);
  const calls = reports.reduce((sum, r) => sum + r.stats.redisCalls, 0);
  const limitPerSecond = (limit.count / limit.durationMs) * 1000;
  return {
    limit: `${limit.count}/${limit.durationMs}ms`,
    processes,
    granted: times.length,
    achievedPerSecond: Math.round(perSecond),
    achievedOfLimit: perSecond / limitPerSecond,
    maxWindow,
    maxWindowOfLimit: maxWindow / limit.count,
    dropped: reports.reduce((sum, r) => sum + r.stats.dropped, 0),
    redisCallsPerSecond: Math.round(calls / seconds),
  };
}

function printTable(rows: Row[]): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.table(
    rows.map((r) => ({
      limit: r.limit,
      processes: r.processes,
      granted: r.granted,
      'achieved/s': r.achievedPerSecond,
      'achieved / limit': pct(r.achievedOfLimit),
      'max window': r.maxWindow,
      'max window / limit': pct(r.maxWindowOfLimit),
      dropped: r.dropped,
      'redis calls/s': r.redisCallsPerSecond,
    })),
  );
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  if (!(seconds > 0 && seconds <= 120))
    throw new TypeError(`seconds must be from 1 to 120; got ${process.argv[2]}`);
  const redis = await provisionRedis();
  const rows: Row[] = [];
  try {
    for (const limit of LIMITS) {
      for (const processes of PROCESSES) {
        const row = await runCase(redis.url, limit, processes, seconds);
        console.log(
          `${row.limit} x${processes}: ${row.achievedPerSecond}/s, max window ${row.maxWindow}, ${row.redisCallsPerSecond} Redis calls/s`,
        );
        rows.push(row);
      }
    }
  } finally {
    await redis.stop();
  }
  printTable(rows);
  mkdirSync('bench-results', { recursive: true });
  const out = {
    at: new Date().toISOString(),
    seconds,
    backlogPerProcess: BACKLOG,
    redis: redis.version,
    rows,
  };
  writeFileSync('bench-results/limiter.json', `${JSON.stringify(out, null, 2)}\n`);
  console.log('written: bench-results/limiter.json');
}

if (process.argv.includes(CHILD_FLAG)) {
  child();
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
