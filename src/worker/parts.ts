/**
 * What batches add to a worker process: the pipeline hooks (latest intent wins, batch
 * outcomes) and the extra workers (fan-out, schedules, completion webhooks). Each piece
 * lives in its own module (batches/, intents/, fanout/, schedules/, webhooks/); this file
 * only wires them to the process's connection, queues and logger.
 */
import { Queue } from 'bullmq';
import type { RedisConnection } from '../queues.js';
import type { ConfbulkConfig } from '../config.js';
import type { ParticipantQueues } from '../jobs/enqueue.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { QUEUE_NAMES, quietQueue } from '../queues.js';
import type { SignalWireClients } from '../signalwire/clients.js';
import type { ExtraWorkerSpec, PipelineHooks } from './types.js';
import { BatchStore } from '../batches/store.js';
import { BulkActionSubmitter } from '../bulk-actions/submit.js';
import { CompletionNotifier } from '../batches/completion.js';
import { LostJobsRepair } from '../batches/repair.js';
import { DeadLetters } from '../dead-letters/dead-letters.js';
import { Fanout } from '../fanout/fanout.js';
import { IntentStore } from '../intents/intents.js';
import { noteListingError, noteWebhook } from '../batches/reason/notes.js';
import { ProducerKeys, queuePrefix } from '../keys.js';
import { SkippedRuns } from '../schedules/limits.js';
import { FiredOneOffs } from '../schedules/fired.js';
import { createScheduleProcessor } from '../schedules/schedules.js';
import { webhookGuardOf, type WebhookGuard } from '../webhooks/guard.js';
import { createWebhookProcessor, WEBHOOKS_QUEUE } from '../webhooks/webhooks.js';

export interface BatchWorkerContext {
  config: ConfbulkConfig;
  /** Shared connection; not closed by `close()`. */
  connection: RedisConnection;
  logger: Logger;
  metrics: Metrics;
  clients: SignalWireClients;
  queues: ParticipantQueues;
  /** Lock of a participant job in progress (the worker runtime's `lockDurationMs`). */
  lockDurationMs: number;
  /** @defaultValue the guard of `config`, system CAs */
  webhooks?: WebhookDeliveryOptions;
  /** How long a batch that lost its jobs stays still before it is repaired. @defaultValue 20000 */
  repairQuietMs?: number;
}

export interface WebhookDeliveryOptions {
  /** @defaultValue `webhookGuardOf(config)` */
  guard?: WebhookGuard;
  /** Extra trusted CA certificates (PEM) of receivers. @defaultValue none */
  ca?: string[];
}

export interface BatchWorkerParts {
  hooks: PipelineHooks;
  workers: ExtraWorkerSpec[];
  /** Stops the completion sweeper and closes the queues opened here. Idempotent. */
  close(): Promise<void>;
}

/** Concurrency of the extra workers per process. */
const CONCURRENCY = { fanout: 2, schedules: 1, webhooks: 5 } as const;

export async function batchWorkerParts(ctx: BatchWorkerContext): Promise<BatchWorkerParts> {
  const { config, connection, metrics } = ctx;
  const logger = ctx.logger.child({ component: 'batches' });
  const keys = new ProducerKeys(config.prefix);
  const batches = new BatchStore({ redis: connection, keys });
  // A claim is taken again right before every try and lives as long as the job's lock
  // (a dead worker's claims go with its locks), and never less than one request.
  const intents = new IntentStore({
    redis: connection,
    keys,
    claimTtlMs: Math.max(ctx.lockDurationMs, config.requestTimeoutMs + 1000),
  });
  const open = (name: string): Queue =>
    quietQueue(new Queue(name, { connection, prefix: queuePrefix(config.prefix, name) }));
  const fanoutQueue = open(QUEUE_NAMES.fanout);
  const schedulesQueue = open(QUEUE_NAMES.schedules);
  const webhooksQueue = open(WEBHOOKS_QUEUE);
  // Enqueues dead-letter replays whose process stopped after taking the entry.
  const deadLetters = new DeadLetters({ connection, prefix: config.prefix, queues: ctx.queues });
  // Running batches whose jobs a failover lost are queued again (batches/repair.ts).
  const repair = new LostJobsRepair({
    batches,
    queues: ctx.queues,
    logger,
    updatesPerJob: config.updatesPerJob,
    serves: (space) => config.spaces.has(space),
    ...(ctx.repairQuietMs !== undefined && { quietMs: ctx.repairQuietMs }),
  });
  const notifier = new CompletionNotifier({
    redis: connection,
    keys,
    batches,
    webhooks: webhooksQueue,
    metrics,
    logger,
    alsoSweep: [() => deadLetters.finishPendingReplays(), () => repair.sweep()],
  });
  const fanout = new Fanout({
    batches,
    queues: ctx.queues,
    api: (space) => ctx.clients.get(space),
    notifier,
    logger,
    serves: (space) => config.spaces.has(space),
    updatesPerJob: config.updatesPerJob,
    noteListingError: (batchId, note) => noteListingError(connection, keys, batchId, note),
  });
  const guard = ctx.webhooks?.guard ?? webhookGuardOf(config);
  const submitter = new BulkActionSubmitter(config, batches, () => fanoutQueue, guard);

  const hooks: PipelineHooks = {
    beforeSend: (job, jobId) => intents.beforeSend(job, jobId),
    // A job with an outcome let its claim go with it (onOutcome); one that goes back to
    // the queue (a retry, a shutdown) lets it go here.
    afterSend: async (job, jobId, detail) => {
      if (detail.outcome === undefined) await intents.afterSend(job, jobId);
    },
    withOutcome: (batchId, jobIds) => batches.withOutcome(batchId, jobIds),
    async onOutcome(job, jobId, outcome, detail) {
      // A payload that failed validation never reached beforeSend: it holds no claim.
      const release = detail.invalidPayload ? undefined : intents.claimOf(job, jobId);
      if (typeof job.batchId !== 'string') {
        if (release) await intents.afterSend(job, jobId);
        return;
      }
      const record = await batches.recordOutcome(job.batchId, job.replayOf ?? jobId, outcome, {
        ...(release && { release }),
      });
      if (record.unknownBatch) {
        logger.debug(
          { batchId: job.batchId, jobId },
          'outcome of a job whose batch no longer exists',
        );
      }
      if (record.completed) await notifier.notifySafely(job.batchId);
    },
  };

  const workers: ExtraWorkerSpec[] = [
    { queueName: QUEUE_NAMES.fanout, processor: fanout.processor, concurrency: CONCURRENCY.fanout },
    {
      queueName: QUEUE_NAMES.schedules,
      processor: createScheduleProcessor({
        submitter,
        queue: schedulesQueue,
        logger,
        skipped: new SkippedRuns(connection, keys),
        fired: new FiredOneOffs(connection, keys),
        maxLateMs: config.schedule.maxLateMs,
      }),
      concurrency: CONCURRENCY.schedules,
    },
    {
      queueName: WEBHOOKS_QUEUE,
      processor: createWebhookProcessor({
        batches,
        secret: config.webhookSecret,
        logger,
        guard,
        ...(ctx.webhooks?.ca && { ca: ctx.webhooks.ca }),
        note: (batchId, state) => noteWebhook(connection, keys, batchId, state),
      }),
      concurrency: CONCURRENCY.webhooks,
    },
  ];

  if (!config.webhookSecret) {
    logger.warn(
      'CONFBULK_WEBHOOK_SECRET is not set: this worker cannot sign completion webhooks, and hands ' +
        'them back to the queue for a worker that can (they wait, never sent unsigned)',
    );
  }
  notifier.start();
  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    const results = await Promise.allSettled([
      // The sweep uses the dead-letter queue: it stops first.
      notifier.close().then(() => deadLetters.close()),
      fanoutQueue.close(),
      schedulesQueue.close(),
      webhooksQueue.close(),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  return { hooks, workers, close: () => (closing ??= close()) };
}
