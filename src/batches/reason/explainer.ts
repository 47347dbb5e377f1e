/**
 * Gives batches their reason (src/batches/reason/explain.ts) when they are read: gathers
 * the space's circuit and limiter state, the workers connected to its updates queue, the
 * listing note and the fan-out's next attempt. Space facts are cached for `cacheMs`, so a
 * waiting CLI or a dashboard listing many batches reads each space once a second at most.
 */
import type { Queue } from 'bullmq';
import type { RateLimitSpec } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { RedisConnection } from '../../queues.js';
import type { ProducerKeys } from '../../keys.js';
import { QUEUE_NAMES, updatesQueueName } from '../../queues.js';
import type { Batch } from '../../types.js';
import { explainBatch } from './explain.js';
import { readListingNote, readWebhookNote } from './notes.js';
import { readSpaceView, type SpaceView } from './space-state.js';

export interface BatchExplainerOptions {
  redis: RedisConnection;
  keys: ProducerKeys;
  /** Opens (or returns) the queue of this name. */
  queue: (name: string) => Queue;
  /** The rate windows of a space's profile (none for an unknown space). */
  limitsOf: (space: string) => readonly RateLimitSpec[];
  /** @defaultValue 1000 */
  cacheMs?: number;
  /** Where a reason that cannot be read is told (once per kind). @defaultValue silent */
  logger?: Logger;
}

interface SpaceFacts {
  view: SpaceView;
  workers: number;
  readAt: number;
}

export class BatchExplainer {
  readonly #o: BatchExplainerOptions;
  readonly #spaces = new Map<string, Promise<SpaceFacts>>();
  /** Kinds of failure already logged. */
  readonly #warned = new Set<string>();

  constructor(options: BatchExplainerOptions) {
    this.#o = options;
  }

  /**
   * The batch with its `reason` (and `webhook` state), read now. A reason is an aid, never
   * a reason to fail the read it decorates: when its facts cannot be read (the shard of the
   * batch's space failing over; cluster transactions are not retried), the batch comes back
   * as read, without a reason.
   */
  async explain(batch: Batch): Promise<Batch> {
    try {
      return await this.#explain(batch);
    } catch (err) {
      // One line per kind of failure, not one per read.
      const kind = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      if (!this.#warned.has(kind) && this.#warned.size < 100) {
        this.#warned.add(kind);
        this.#o.logger?.warn(
          { err, batchId: batch.id },
          'could not read the reason of a batch; read without it',
        );
      }
      const { reason: _old, ...rest } = batch;
      return rest;
    }
  }

  async #explain(batch: Batch): Promise<Batch> {
    const { redis, keys } = this.#o;
    const ended = batch.state === 'completed' || batch.state === 'failed';
    const [space, listing, webhook] = await Promise.all([
      ended ? undefined : this.#spaceFacts(batch.space),
      batch.state === 'listing' ? readListingNote(redis, keys, batch.id) : undefined,
      batch.webhookUrl ? readWebhookNote(redis, keys, batch.id) : undefined,
    ]);
    const listingRetryAt = listing ? await this.#fanoutRetryAt(batch.id, listing.at) : undefined;
    const now = Date.now();
    const reason = explainBatch(batch, {
      now,
      space: space?.view ?? {
        circuit: { state: 'closed' },
        limiter: { streak: 0, factor: 1, inWindows: [] },
        nowMs: now,
      },
      workers: space?.workers ?? 1,
      ...(listing && { listing }),
      ...(listingRetryAt !== undefined && { listingRetryAt }),
    });
    const { reason: _old, webhook: _oldWebhook, ...rest } = batch;
    return { ...rest, ...(reason && { reason }), ...(webhook && { webhook }) };
  }

  explainAll(batches: Batch[]): Promise<Batch[]> {
    return Promise.all(batches.map((b) => this.explain(b)));
  }

  #spaceFacts(space: string): Promise<SpaceFacts> {
    const cacheMs = this.#o.cacheMs ?? 1000;
    const cached = this.#spaces.get(space);
    if (cached) return cached;
    const read = (async (): Promise<SpaceFacts> => {
      const [view, workers] = await Promise.all([
        readSpaceView(this.#o.redis, this.#o.keys.prefix, space, this.#o.limitsOf(space)),
        this.#o.queue(updatesQueueName(space)).getWorkersCount(),
      ]);
      return { view, workers, readAt: Date.now() };
    })();
    this.#spaces.set(space, read);
    const forget = (): void => {
      setTimeout(() => {
        if (this.#spaces.get(space) === read) this.#spaces.delete(space);
      }, cacheMs).unref();
    };
    read.then(forget, () => this.#spaces.delete(space));
    return read;
  }

  /** When the fan-out job of a batch runs again, if it waits for a retry. */
  async #fanoutRetryAt(batchId: string, failedAt: number): Promise<number | undefined> {
    const job = await this.#o.queue(QUEUE_NAMES.fanout).getJob(batchId);
    if (!job || (await job.getState()) !== 'delayed') return undefined;
    return failedAt + (job.delay ?? 0);
  }
}
