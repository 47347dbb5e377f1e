/**
 * The producer library: `createConfbulk()` opens what a producer needs (queues, a
 * subscription for waiting) and `close()` releases it, like graphile-worker's
 * `makeWorkerUtils()`/`release()`. Short scripts and tests call `close()`.
 *
 * @example
 * const confbulk = await createConfbulk({ config: loadConfig() });
 * const handle = await confbulk.bulkAction({ action: 'mute', target: { conferenceSid, except: [hostCallSid] } });
 * const batch = await handle.completed({ onProgress: (b) => console.log(b.counts) });
 * await confbulk.close();
 */
import { Queue } from 'bullmq';
import type { RedisConnection } from '../queues.js';
import type { ConfbulkConfig } from '../config.js';
import { ValidationError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import {
  closeRedis,
  createRedis,
  QUEUE_NAMES,
  quietQueue,
  redisAnswers,
  requireRedis,
} from '../queues.js';
import { BatchStore } from '../batches/store.js';
import { BulkActionSubmitter } from '../bulk-actions/submit.js';
import { SkippedRuns } from '../schedules/limits.js';
import { FiredOneOffs } from '../schedules/fired.js';
import { webhookGuardOf, type WebhookGuard } from '../webhooks/guard.js';
import { ProducerKeys, queuePrefix } from '../keys.js';
import { ScheduleStore } from '../schedules/schedules.js';
import type { Batch, BatchHandle, BulkActionRequest, Confbulk } from '../types.js';
import { BatchWaiter } from './wait.js';
import { validateBulkActionRequest } from '../bulk-actions/request-schema.js';
import { checkConferenceName } from '../fanout/conference-name.js';
import { SignalWireClients } from '../signalwire/clients.js';
import { BatchExplainer } from '../batches/reason/explainer.js';

export interface ConfbulkOptions {
  config: ConfbulkConfig;
  /** Shared connection, not closed by `close()`. @defaultValue a connection to `config.redisUrl` */
  connection?: RedisConnection;
  /** @defaultValue a silent logger */
  logger?: Logger;
  /** How often waiting reads a batch's progress, in ms. @defaultValue 250 */
  pollMs?: number;
  /**
   * Where webhooks may go (checked when a bulk action or schedule is submitted).
   * @defaultValue the allow-list of `config` and the system resolver
   */
  webhookGuard?: WebhookGuard;
}

/** Most batches `listBatches` returns at once. */
export const MAX_LIST_LIMIT = 1000;

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new ValidationError(
      `limit: must be a whole number from 1 to ${MAX_LIST_LIMIT}; got ${limit}`,
      'limit',
    );
  }
  return limit;
}

/** Opens a producer. Resolves once Redis answers. */
export async function createConfbulk(options: ConfbulkOptions): Promise<Confbulk> {
  const { config } = options;
  const logger = (options.logger ?? silentLogger).child({ component: 'producer' });
  if (!options.connection)
    requireRedis(config, 'the producer needs the Redis server the workers use');
  const connection = options.connection ?? createRedis(config);
  if (!options.connection) {
    connection.on('error', (err: Error) =>
      logger.debug({ err: err.message }, 'Redis connection error (reconnecting)'),
    );
  }
  const keys = new ProducerKeys(config.prefix);
  const batches = new BatchStore({ redis: connection, keys });
  // Queues open on first use: a producer that only reads, or whose requests are all
  // invalid, writes nothing to Redis.
  const queues = new Map<string, Queue>();
  const queue = (name: string) => (): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = quietQueue(new Queue(name, { connection, prefix: queuePrefix(config.prefix, name) }));
      queues.set(name, q);
    }
    return q;
  };
  const guard = options.webhookGuard ?? webhookGuardOf(config);
  const submitter = new BulkActionSubmitter(config, batches, queue(QUEUE_NAMES.fanout), guard);
  const explainer = new BatchExplainer({
    redis: connection,
    keys,
    queue: (name) => queue(name)(),
    limitsOf: (space) => config.spaces.get(space)?.rateLimits ?? [],
    logger,
  });
  const explain = (batch: Batch): Promise<Batch> => explainer.explain(batch);
  const waiter = new BatchWaiter({
    redis: connection,
    keys,
    batches,
    logger,
    explain,
    ...(options.pollMs !== undefined && { pollMs: options.pollMs }),
  });

  const handle = (batch: Batch, created: boolean): BatchHandle => ({
    id: batch.id,
    created,
    batch,
    completed: (waitOptions) => waiter.wait(batch.id, waitOptions),
  });

  // API clients open on first use: only a conference named by name needs one here.
  let apiClients: SignalWireClients | undefined;
  const clients = (): SignalWireClients =>
    (apiClients ??= new SignalWireClients(config, { logger }));

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    const results = await Promise.allSettled([
      waiter.close(),
      apiClients?.close(),
      ...[...queues.values()].map((q) => q.close()),
    ]);
    if (!options.connection) await closeRedis(connection);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };

  try {
    await redisAnswers(connection, options.connection ? undefined : config);
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }

  return {
    async bulkAction(req: BulkActionRequest): Promise<BatchHandle> {
      const valid = validateBulkActionRequest(config, req);
      if (valid.target.conferenceName !== undefined) {
        // An API that cannot answer now does not block the request: the fan-out checks
        // the name again when it runs, and fails the batch if it is ambiguous then.
        await checkConferenceName(
          clients().get(valid.space),
          valid.space,
          valid.target.conferenceName,
          valid.target.newest === true,
        ).catch((err: unknown) => {
          if ((err as Error).name === 'ValidationError') throw err;
          logger.warn(
            { err: (err as Error).message, space: valid.space },
            'could not check the conference name now; the fan-out checks it when it runs',
          );
        });
      }
      const { batch, created } = await submitter.submit(req);
      logger.info(
        { batchId: batch.id, action: batch.action, space: batch.space, created },
        created ? 'batch created' : 'idempotency key matched a batch',
      );
      return handle(await explain(batch), created);
    },
    getBatch: async (id) => {
      const batch = await batches.get(id);
      return batch && explain(batch);
    },
    listBatches: async (opts = {}) =>
      explainer.explainAll(await batches.list(checkLimit(opts.limit ?? 50))),
    waitForBatch: (id, waitOptions) => waiter.wait(id, waitOptions),
    schedules: new ScheduleStore(
      config,
      queue(QUEUE_NAMES.schedules),
      new SkippedRuns(connection, keys),
      guard,
      new FiredOneOffs(connection, keys),
    ),
    close: () => (closing ??= close()),
  };
}
