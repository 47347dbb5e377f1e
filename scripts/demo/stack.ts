/**
 * A complete worker stack in the current process, built from the same parts as
 * `confbulk worker` (src/worker/process.ts): API clients, the producer's worker parts
 * (fan-out, schedules, latest-intent-wins hooks) and the worker runtime. The demo and the
 * operations tests use it; production runs `confbulk worker` processes instead.
 */
import type { Redis } from 'ioredis';
import type { ConfbulkConfig } from '../../src/config.js';
import { ParticipantQueues } from '../../src/jobs/enqueue.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import type { Metrics } from '../../src/metrics.js';
import { producerWorkerParts } from '../../src/producer/worker-parts.js';
import { SignalWireClients } from '../../src/signalwire/clients.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../src/worker/runtime.js';

export interface InProcessWorkersOptions {
  config: ConfbulkConfig;
  /** Shared connection; not closed by `close()`. */
  connection: Redis;
  metrics: Metrics;
  /** @defaultValue silent */
  logger?: Logger;
}

export interface InProcessWorkers {
  runtime: WorkerRuntime;
  /** Stops the workers (gracefully), then what was opened here. Idempotent. */
  close(): Promise<void>;
}

/** Starts the stack; resolves once its workers are connected. */
export async function startInProcessWorkers(
  options: InProcessWorkersOptions,
): Promise<InProcessWorkers> {
  const { config, connection, metrics } = options;
  const logger = options.logger ?? silentLogger;
  const clients = new SignalWireClients(config, { logger });
  const queues = new ParticipantQueues({ connection, prefix: config.prefix, retry: config.retry });
  const steps: (() => Promise<void>)[] = [() => queues.close(), () => clients.close()];
  const close = async (): Promise<void> => {
    for (const step of steps) await step().catch(() => {});
  };
  try {
    const parts = await producerWorkerParts({
      config,
      connection,
      logger,
      metrics,
      clients,
      queues,
    });
    steps.unshift(() => parts.close());
    const runtime = await startWorkerRuntime({
      config,
      connection,
      logger,
      metrics,
      clients,
      hooks: parts.hooks,
      extraWorkers: parts.workers,
    });
    steps.unshift(() => runtime.close(5000));
    let closing: Promise<void> | undefined;
    return { runtime, close: () => (closing ??= close()) };
  } catch (err) {
    await close();
    throw err;
  }
}
