/**
 * The stuck-worker guard (src/worker/stuck-guard.ts), on a real Redis: a worker whose
 * fetch loop hangs (as BullMQ's does after some failovers; here its wait for jobs is made
 * to never return) is replaced by a fresh one that takes the due job; a worker that is
 * busy to its concurrency is left alone however long jobs wait.
 */
import { Queue, type Processor, type Worker, type WorkerOptions } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { GuardedWorker, type StuckGuardOptions } from '../../src/worker/stuck-guard.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';
import { until } from './support/stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A guarded worker of queue `q` under a fresh prefix, and a Queue to add to it; both closed
 * (and the queue's keys removed) afterwards.
 */
async function withGuarded(
  processor: Processor,
  options: Omit<WorkerOptions, 'connection' | 'prefix'>,
  guard: StuckGuardOptions,
  fn: (guarded: GuardedWorker, queue: Queue) => Promise<void>,
): Promise<void> {
  const connection = testRedis({ maxRetriesPerRequest: null });
  const prefix = `{${uniquePrefix()}}`;
  const queue = new Queue('q', { connection, prefix });
  const guarded = new GuardedWorker(
    'q',
    processor,
    { connection, prefix, ...options },
    () => {},
    silentLogger,
    guard,
  );
  try {
    await guarded.worker.waitUntilReady();
    await fn(guarded, queue);
  } finally {
    await guarded.close(true);
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    connection.disconnect();
  }
}

describe('GuardedWorker', () => {
  it('starts a fresh worker when its fetch loop hangs with a job due, and the job runs once', async () => {
    const ran: string[] = [];
    await withGuarded(
      async (job) => void ran.push(String(job.id)),
      { concurrency: 2, drainDelay: 1 },
      { checkMs: 100, stuckMs: 1000 },
      async (guarded, queue) => {
        // The loop's next wait for jobs never returns: it ends its current one (drainDelay 1 s).
        const stuck: Worker = guarded.worker;
        let hung = false;
        (stuck as unknown as { waitForJob: () => Promise<number> }).waitForJob = () => {
          hung = true;
          return new Promise(() => {});
        };
        await until(() => hung, 15_000, 'the fetch loop is in its hung wait');
        await queue.add('x', {}, { jobId: 'due-1' });
        await sleep(600);
        expect(ran).toEqual([]);
        await until(() => ran.length === 1, 10_000, 'the due job ran');
        expect(guarded.restarts).toBe(1);
        expect(guarded.worker).not.toBe(stuck);
        await queue.add('x', {}, { jobId: 'due-2' });
        await until(() => ran.length === 2, 5000, 'the next job ran');
        expect(ran).toEqual(['due-1', 'due-2']);
      },
    );
  });

  it('leaves a worker alone while a retried job waits out its backoff', async () => {
    const tries: number[] = [];
    await withGuarded(
      async () => {
        tries.push(Date.now());
        // Runs a while, then fails: its retry is due 2 s after the failure, 3 s after the
        // job was created (a job's timestamp + delay would say 2 s).
        if (tries.length === 1) {
          await sleep(1000);
          throw new Error('transient');
        }
      },
      { concurrency: 1 },
      { checkMs: 100, stuckMs: 300 },
      async (guarded, queue) => {
        await queue.add(
          'x',
          {},
          { jobId: 'retried', attempts: 2, backoff: { type: 'fixed', delay: 2000 } },
        );
        await until(() => tries.length === 2, 10_000, 'the retry ran');
        expect(tries[1]! - tries[0]!).toBeGreaterThanOrEqual(2900);
        expect(guarded.restarts).toBe(0);
      },
    );
  });

  it('leaves a worker alone while it has no room, however long jobs wait', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const ran: string[] = [];
    try {
      await withGuarded(
        async (job) => {
          ran.push(String(job.id));
          await gate;
        },
        { concurrency: 1 },
        { checkMs: 100, stuckMs: 500 },
        async (guarded, queue) => {
          await queue.add('x', {}, { jobId: 'long' });
          await until(() => ran.length === 1, 5000, 'the long job started');
          await queue.add('x', {}, { jobId: 'waits' });
          await sleep(1500);
          expect(guarded.restarts).toBe(0);
          release();
          await until(() => ran.length === 2, 5000, 'the waiting job ran');
          expect(guarded.restarts).toBe(0);
        },
      );
    } finally {
      release();
    }
  });
});
