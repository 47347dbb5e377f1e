/**
 * What happens once a batch has ended: an event on the prefix's pub/sub channel (waiters
 * resolve at once), the batch-duration metric, and the completion webhook. The Lua that
 * ends a batch also lists it in a completions set, and an entry leaves that set only after
 * all this was done; a sweeper picks up entries whose worker died in between.
 */
import type { Queue } from 'bullmq';
import type { RedisConnection } from '../queues.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { BatchStore } from './store.js';
import type { ProducerKeys } from '../keys.js';
import type { Batch } from '../types.js';
import { enqueueWebhook } from '../webhooks/webhooks.js';

/** Message on the events channel. */
export interface BatchEvent {
  event: 'batch.completed' | 'batch.failed';
  id: string;
  state: Batch['state'];
}

export interface CompletionNotifierOptions {
  redis: RedisConnection;
  keys: ProducerKeys;
  batches: BatchStore;
  webhooks: Queue;
  metrics?: Metrics;
  logger: Logger;
  /** How often overdue notifications are looked for. @defaultValue 5000 */
  sweepIntervalMs?: number;
  /** How long a notification may stay undone before a sweeper takes it over. @defaultValue 15000 */
  overdueMs?: number;
  /** Other overdue bookkeeping swept on the same timer (dead-letter replays left pending). */
  alsoSweep?: readonly (() => Promise<unknown>)[];
}

export class CompletionNotifier {
  readonly #options: CompletionNotifierOptions;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;

  constructor(options: CompletionNotifierOptions) {
    this.#options = options;
  }

  /** Publishes, measures and queues the webhook of an ended batch, then acknowledges it. */
  async notify(batchId: string): Promise<void> {
    const { batches, redis, keys, webhooks, metrics } = this.#options;
    const batch = await batches.get(batchId);
    if (batch && (batch.state === 'completed' || batch.state === 'failed')) {
      const event: BatchEvent = { event: `batch.${batch.state}`, id: batch.id, state: batch.state };
      await redis.publish(keys.events(), JSON.stringify(event));
      if (batch.webhookUrl) await enqueueWebhook(webhooks, batch.id);
      const seconds = (Date.parse(batch.finishedAt ?? '') - Date.parse(batch.createdAt)) / 1000;
      if (Number.isFinite(seconds)) {
        metrics?.batchDuration.observe({ action: batch.action, state: batch.state }, seconds);
      }
      this.#options.logger.info(
        { batchId: batch.id, state: batch.state, counts: batch.counts, error: batch.error },
        'batch ended',
      );
    }
    await batches.acknowledgeCompletion(batchId);
  }

  /** Notifies, logging instead of throwing: the sweeper retries what failed. */
  async notifySafely(batchId: string): Promise<void> {
    try {
      await this.notify(batchId);
    } catch (err) {
      this.#options.logger.warn(
        { err, batchId },
        'batch end notification failed; the sweeper will retry it',
      );
    }
  }

  /** Handles every overdue notification once. */
  async sweep(): Promise<void> {
    const ids = await this.#options.batches.claimOverdueCompletions(
      this.#options.overdueMs ?? 15_000,
    );
    for (const id of ids) await this.notifySafely(id);
    for (const sweep of this.#options.alsoSweep ?? []) await sweep();
  }

  /** Sweeps periodically until `close()`. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.#sweeping ??= this.sweep()
        .catch((err: unknown) =>
          this.#options.logger.warn({ err }, 'sweeping batch end notifications failed'),
        )
        .finally(() => (this.#sweeping = undefined));
    }, this.#options.sweepIntervalMs ?? 5000);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping;
  }
}
