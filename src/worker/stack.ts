/**
 * Everything a worker runs, wired together: API clients, participant queues, the batch
 * parts (src/worker/parts.ts: fan-out, schedules, webhooks, latest-intent-wins hooks) and
 * the worker runtime; then each space's updates queue and API connection are opened
 * (warm-up.ts) before the stack counts as started. `confbulk worker` (src/worker/process.ts) adds the process concerns
 * around it (signals, metrics listener, progress line); the demo and tests run it in
 * process.
 */
import type { RedisConnection } from '../queues.js';
import type { ConfbulkConfig } from '../config.js';
import { ParticipantQueues } from '../jobs/enqueue.js';
import { silentLogger, type Logger } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { batchWorkerParts, type WebhookDeliveryOptions } from './parts.js';
import type { RedisHealth } from '../redis-health.js';
import { SignalWireClients } from '../signalwire/clients.js';
import {
  resolveStalled,
  startWorkerRuntime,
  type StalledJobOptions,
  type WorkerRuntime,
} from './runtime.js';
import { closeAll } from './shutdown.js';
import { warmUp } from './warm-up.js';

export interface WorkerStackOptions {
  config: ConfbulkConfig;
  /** Shared connection; not closed by `close()`. */
  connection: RedisConnection;
  /** @defaultValue silent */
  logger?: Logger;
  /** @defaultValue a fresh registry */
  metrics?: Metrics;
  /** Participant jobs in flight per space. @defaultValue `config.concurrency` */
  concurrency?: number;
  stalled?: StalledJobOptions;
  /** Where connection errors of the workers go (one line per outage). */
  redisHealth?: RedisHealth;
  /** How completion webhooks are delivered. @defaultValue the guard of `config`, system CAs */
  webhooks?: WebhookDeliveryOptions;
  /** How long a batch that lost its jobs stays still before it is repaired (batches/repair.ts). */
  repairQuietMs?: number;
}

export interface WorkerStack {
  readonly runtime: WorkerRuntime;
  readonly queues: ParticipantQueues;
  readonly clients: SignalWireClients;
  readonly metrics: Metrics;
  /**
   * Stops the workers gracefully (bounded by `timeoutMs`, default
   * `config.shutdownTimeoutMs`), then closes what the stack opened. Idempotent.
   */
  close(timeoutMs?: number): Promise<void>;
}

/** Starts the stack; resolves once its workers are connected. */
export async function startWorkerStack(options: WorkerStackOptions): Promise<WorkerStack> {
  const { config, connection } = options;
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics ?? createMetrics();
  // One keep-alive connection per update in flight, so none waits for a socket (undici
  // queues requests beyond its pool): the pool follows the concurrency.
  const concurrency = options.concurrency ?? config.concurrency;
  const clients = new SignalWireClients(config, {
    logger,
    client: { connections: Math.max(concurrency, 16) },
  });
  const queues = new ParticipantQueues({ connection, prefix: config.prefix, retry: config.retry });
  // Released in the reverse order of acquisition.
  const acquired: [string, (timeoutMs?: number) => Promise<void>][] = [
    ['API clients', () => clients.close()],
    ['participant queues', () => queues.close()],
  ];
  const release = (timeoutMs?: number): Promise<void> =>
    closeAll(
      logger,
      [...acquired].reverse().map(([name, step]) => [name, () => step(timeoutMs)] as const),
    );
  try {
    const parts = await batchWorkerParts({
      config,
      connection,
      logger,
      metrics,
      clients,
      queues,
      lockDurationMs: resolveStalled(options.stalled).lockDurationMs,
      ...(options.webhooks && { webhooks: options.webhooks }),
      ...(options.repairQuietMs !== undefined && { repairQuietMs: options.repairQuietMs }),
    });
    acquired.push(['batch parts', () => parts.close()]);
    const runtime = await startWorkerRuntime({
      config,
      connection,
      logger,
      metrics,
      clients,
      hooks: parts.hooks,
      extraWorkers: parts.workers,
      ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
      ...(options.stalled && { stalled: options.stalled }),
      ...(options.redisHealth && { redisHealth: options.redisHealth }),
    });
    acquired.push(['worker runtime', (timeoutMs) => runtime.close(timeoutMs)]);
    await warmUp({ spaces: [...config.spaces.keys()], queues, clients, logger });
    let closing: Promise<void> | undefined;
    return {
      runtime,
      queues,
      clients,
      metrics,
      close: (timeoutMs) => (closing ??= release(timeoutMs)),
    };
  } catch (err) {
    await release().catch(() => {});
    throw err;
  }
}
