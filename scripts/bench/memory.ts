/**
 * Memory: Redis bytes per waiting job (INFO `used_memory` before and after enqueueing
 * 100,000 jobs with `ParticipantQueues.addJobs`) and the RSS of a worker process, idle on
 * empty queues and then with the 100,000-job backlog present. The second worker runs with
 * a limit of one request per hour, so it holds a full set of active jobs (its concurrency)
 * waiting for permits while the rest wait in Redis: a throttled worker's steady state.
 */
import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../../src/queues.js';
import { rssBytes } from './support/processes.js';
import type { Scenario } from './support/scenario.js';
import { withStack, type Worker } from './support/stack.js';
import { mib, type Row } from './support/table.js';
import { sleep, wallNow } from './support/window.js';

const CONCURRENCY = 100;
const PAUSED = { CONFBULK_RATE_LIMIT: '1/3600s', CONFBULK_CONCURRENCY: String(CONCURRENCY) };

async function usedMemory(redis: RedisConnection): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

/** Largest RSS seen over `ms`, sampled every 100 ms. */
async function peakRss(worker: Worker, ms: number): Promise<number | undefined> {
  let peak: number | undefined;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const rss = rssBytes(worker.pid);
    if (rss !== undefined) peak = Math.max(peak ?? 0, rss);
    await sleep(100);
  }
  return peak;
}

export const memory: Scenario = {
  name: 'memory',
  title: 'Memory: Redis bytes per waiting job, worker RSS with the backlog present',
  async run({ quick, log }) {
    const n = quick ? 10_000 : 100_000;
    return withStack({ participants: 1 }, async (stack) => {
      const idle = stack.spawnWorker({ name: 'idle worker', env: PAUSED });
      await idle.ready();
      const rssEmpty = await peakRss(idle, 2000);
      await idle.stop();

      const before = await usedMemory(stack.client);
      const callSids = Array.from({ length: n }, () => randomUUID());
      const t0 = wallNow();
      await stack.queues().addJobs(stack.jobs('memory', callSids));
      const enqueueMs = wallNow() - t0;
      const after = await usedMemory(stack.client);
      const perJob = (after - before) / n;
      log(
        `memory: ${n} jobs enqueued in ${(enqueueMs / 1000).toFixed(1)} s, ${perJob.toFixed(0)} Redis bytes/job`,
      );

      const loaded = stack.spawnWorker({ name: 'worker with backlog', env: PAUSED });
      await loaded.ready();
      await sleep(1000);
      const rssBacklog = await peakRss(loaded, 3000);
      const counts = await stack
        .queues()
        .queue('default')
        .getJobCounts('waiting', 'active', 'completed');
      await loaded.stop();

      const rows: Row[] = [
        { measure: `Redis used_memory before`, value: mib(before) },
        { measure: `Redis used_memory with ${n} jobs waiting`, value: mib(after) },
        { measure: 'Redis bytes per waiting job', value: `${perJob.toFixed(0)} B` },
        {
          measure: `enqueue rate (addJobs, chunks of 1,000)`,
          value: `${Math.round((n / enqueueMs) * 1000)} jobs/s`,
        },
        { measure: 'worker RSS, idle, empty queues', value: mib(rssEmpty) },
        {
          measure: `worker RSS, ${counts.active ?? 0} jobs active, ${counts.waiting ?? 0} waiting`,
          value: mib(rssBacklog),
        },
      ];
      return {
        redis: stack.redis.version,
        rows,
        targets: [],
        notes: [
          `Jobs: one participant update each ({Muted: true}, UUID SIDs), as ParticipantQueues stores them (deterministic id, attempts and backoff options).`,
          `The worker with the backlog runs at CONFBULK_RATE_LIMIT=1/3600s with concurrency ${CONCURRENCY}: it fetched ${counts.active ?? 0} jobs that wait for permits.`,
        ],
        data: {
          jobs: n,
          usedMemoryBefore: before,
          usedMemoryAfter: after,
          bytesPerJob: perJob,
          enqueueMs,
          rssEmpty,
          rssBacklog,
          counts,
        },
      };
    });
  },
};
