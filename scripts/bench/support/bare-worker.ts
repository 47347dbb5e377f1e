/**
 * The baseline of the benchmarks: a bare BullMQ worker that only POSTs each job's update
 * with confbulk's own API client, nothing else (no rate limiter of confbulk's, no circuit,
 * no intents, no outcome bookkeeping, no retries). Optionally with BullMQ's built-in
 * `limiter: { max, duration }`, the rate limit BullMQ itself offers.
 *
 * Configured like a worker (REDIS_URL, CONFBULK_PREFIX, SIGNALWIRE_*), plus:
 *   BENCH_CONCURRENCY      jobs in flight (default 50)
 *   BENCH_LIMIT            `<max>/<duration ms>` for BullMQ's limiter (default none)
 * Prints `bare worker ready` once connected; stops on SIGTERM.
 */
import { Worker, type Job } from 'bullmq';
import { loadConfig } from '../../../src/config.js';
import type { ParticipantJobData } from '../../../src/jobs/participant-job.js';
import { createRedis, updatesQueueName } from '../../../src/queues.js';
import { SignalWireClients } from '../../../src/signalwire/clients.js';
import { isSignalWireError } from '../../../src/signalwire/errors.js';
import { queuePrefix } from '../../../src/keys.js';

function limiterFromEnv(text: string | undefined): { max: number; duration: number } | undefined {
  if (!text) return undefined;
  const [max, duration] = text.split('/').map(Number);
  if (!Number.isInteger(max) || !Number.isInteger(duration) || !max || !duration) {
    throw new TypeError(`BENCH_LIMIT must look like <max>/<duration ms>; got '${text}'`);
  }
  return { max, duration };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const connection = createRedis(config.redisUrl as string);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 50);
  // As many connections as jobs in flight, as confbulk's worker has (src/worker/stack.ts).
  const clients = new SignalWireClients(config, {
    client: { connections: Math.max(concurrency, 16) },
  });
  const client = clients.get('default');
  const limiter = limiterFromEnv(process.env.BENCH_LIMIT);
  const processor = async (job: Job<ParticipantJobData>): Promise<{ status: number }> => {
    const { conferenceSid, callSid, params } = job.data;
    try {
      const { meta } = await client.updateParticipant(conferenceSid, callSid, params);
      return { status: meta.status };
    } catch (err) {
      // A baseline that retried would hide the overshoot it is here to show.
      if (isSignalWireError(err)) return { status: err.status ?? 0 };
      throw err;
    }
  };
  const worker = new Worker(updatesQueueName('default'), processor, {
    connection,
    prefix: queuePrefix(config.prefix, updatesQueueName('default')),
    concurrency,
    ...(limiter && { limiter }),
  });
  worker.on('error', (err) => console.error(`bare worker error: ${err.message}`));
  await worker.waitUntilReady();
  console.log(
    `bare worker ready (pid ${process.pid}, limiter ${process.env.BENCH_LIMIT ?? 'none'})`,
  );
  process.once('SIGTERM', () => {
    void worker
      .close()
      .then(() => clients.close())
      .finally(() => {
        connection.disconnect();
        process.exit(0);
      });
  });
}

main().catch((err: unknown) => {
  console.error(`bare worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
