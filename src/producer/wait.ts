/**
 * Waiting for a batch to end: woken by the batch's event on the prefix's pub/sub channel,
 * and polling meanwhile (which also reports progress and covers a missed event).
 */
import { EventEmitter } from 'node:events';
import type { RedisConnection } from '../queues.js';
import type { Logger } from '../logger.js';
import { closeRedis } from '../queues.js';
import { isConnectionError } from '../redis-url.js';
import type { BatchStore } from '../batches/store.js';
import type { BatchEvent } from '../batches/completion.js';
import { BatchNotFoundError, BatchUnreadableError, BatchWaitTimeoutError } from './errors.js';
import type { ProducerKeys } from '../keys.js';
import type { Batch, WaitOptions } from '../types.js';

/** A read still unanswered at the caller's deadline. */
class PastDeadline extends Error {}

/**
 * `read`, or a PastDeadline rejection once `deadline` passes, or the signal's reason when it
 * aborts, whichever comes first.
 */
function bounded<T>(
  read: Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (deadline === Infinity && !signal) return read;
  return new Promise<T>((resolve, reject) => {
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      settle();
    };
    const aborted = (): void => finish(() => reject(signal?.reason));
    const timer =
      deadline === Infinity
        ? undefined
        : setTimeout(
            () => finish(() => reject(new PastDeadline())),
            Math.max(0, deadline - Date.now()),
          );
    signal?.addEventListener('abort', aborted, { once: true });
    read.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
  });
}

/** Errors of a Redis that is failing over or briefly unreachable, worth the next poll. */
function isTransientRedisError(err: unknown): boolean {
  return (
    isConnectionError(err) ||
    (err instanceof Error && /^(CLUSTERDOWN|TRYAGAIN|LOADING)|slots cache/.test(err.message))
  );
}

/** How long a batch seen once may read as missing before the wait says it is gone. */
const VANISHED_GRACE_MS = 30_000;
/** How long a wait holds its first read for the events subscription (then polls alone). */
const SUBSCRIBE_WAIT_MS = 1000;

export interface BatchWaiterOptions {
  /** Duplicated for the subscription (a subscribed connection can do nothing else). */
  redis: RedisConnection;
  keys: ProducerKeys;
  batches: BatchStore;
  logger: Logger;
  /** Progress polling interval. @defaultValue 250 */
  pollMs?: number;
  /** Gives each batch read its reason (src/batches/reason/). @defaultValue none */
  explain?: (batch: Batch) => Promise<Batch>;
}

export function hasEnded(batch: Batch): boolean {
  return batch.state === 'completed' || batch.state === 'failed';
}

export class BatchWaiter {
  readonly #options: BatchWaiterOptions;
  readonly #events = new EventEmitter();
  #subscriber: RedisConnection | undefined;
  #subscribed: Promise<void> | undefined;
  #closed = false;

  constructor(options: BatchWaiterOptions) {
    this.#options = options;
    this.#events.setMaxListeners(0);
  }

  /** Resolves with the ended batch. @throws BatchNotFoundError, BatchWaitTimeoutError, the signal's reason. */
  async wait(id: string, options: WaitOptions = {}): Promise<Batch> {
    const { signal, onProgress, timeoutMs } = options;
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    await this.#subscribedOrLate(deadline, signal);
    let last: Batch | undefined;
    let unreadable = false;
    for (;;) {
      signal?.throwIfAborted();
      let batch: Batch;
      try {
        // A read Redis never answers (unreachable, commands queued for ever) must not hold
        // the wait past its deadline.
        const read = await bounded(
          this.#readBatch(id, last !== undefined, deadline),
          deadline,
          signal,
        );
        batch = this.#options.explain
          ? await bounded(this.#options.explain(read), deadline, signal)
          : read;
      } catch (err) {
        signal?.throwIfAborted();
        if (err instanceof PastDeadline) {
          if (last) throw new BatchWaitTimeoutError(id, timeoutMs ?? 0, last);
          throw new BatchUnreadableError(id, timeoutMs ?? 0);
        }
        // A read that met a failover (a cluster transaction is not retried) or Redis gone a
        // moment: the next poll tries again, until the deadline.
        if (!isTransientRedisError(err) || Date.now() >= deadline) {
          if (last && isTransientRedisError(err))
            throw new BatchWaitTimeoutError(id, timeoutMs ?? 0, last);
          throw err;
        }
        if (!unreadable) {
          this.#options.logger.warn(
            { err, batchId: id },
            'reading the batch failed; retrying at the next poll',
          );
        }
        unreadable = true;
        await this.#nextLook(
          id,
          Math.min(this.#options.pollMs ?? 250, deadline - Date.now()),
          signal,
        );
        continue;
      }
      last = batch;
      unreadable = false;
      onProgress?.(batch);
      if (hasEnded(batch)) return batch;
      const left = deadline - Date.now();
      if (left <= 0) throw new BatchWaitTimeoutError(id, timeoutMs ?? 0, batch);
      await this.#nextLook(id, Math.min(this.#options.pollMs ?? 250, left), signal);
    }
  }

  /**
   * Reads the batch. Missing at the first read, it does not exist. Missing after it was
   * seen, the read may have met a Redis Cluster failover half-way (the failover test saw an
   * empty answer once): it is read again, for up to `VANISHED_GRACE_MS` and never past the
   * caller's deadline, before the batch counts as gone.
   */
  async #readBatch(id: string, seen: boolean, deadline: number): Promise<Batch> {
    const giveUp = Math.min(deadline, Date.now() + VANISHED_GRACE_MS);
    for (;;) {
      const read = await this.#options.batches.get(id);
      if (read) return read;
      if (!seen || Date.now() >= giveUp) throw new BatchNotFoundError(id);
      await new Promise((resolve) => setTimeout(resolve, this.#options.pollMs ?? 250));
    }
  }

  /**
   * Subscribes before the first read, so that an end between the two is not missed; but
   * waits for the subscription no longer than `SUBSCRIBE_WAIT_MS` (nor half the time left before the deadline):
   * a subscription that does not come (Redis unreachable, a cluster that lost the node the
   * subscriber was given) leaves the wait to its polls, which see every end anyway.
   */
  async #subscribedOrLate(deadline: number, signal: AbortSignal | undefined): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let aborted: (() => void) | undefined;
    const late = new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      // Half the time left at most: the first read must still fit before the deadline.
      const left = (deadline - Date.now()) / 2;
      timer = setTimeout(resolve, Math.max(0, Math.min(SUBSCRIBE_WAIT_MS, left)));
      aborted = resolve;
      signal?.addEventListener('abort', aborted, { once: true });
    });
    const subscribed = this.#subscribe().catch((err: unknown) =>
      this.#options.logger.warn({ err }, 'batch events unavailable; polling only'),
    );
    await Promise.race([subscribed, late]).finally(() => {
      clearTimeout(timer);
      if (aborted) signal?.removeEventListener('abort', aborted);
    });
  }

  /** Ends the subscription. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber) await closeRedis(subscriber);
  }

  #subscribe(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('BatchWaiter is closed'));
    this.#subscribed ??= (async () => {
      const subscriber = this.#options.redis.duplicate();
      this.#subscriber = subscriber;
      subscriber.on('error', (err: unknown) =>
        this.#options.logger.debug({ err }, 'batch events subscriber error'),
      );
      subscriber.on('message', (_channel: string, message: string) => {
        try {
          this.#events.emit((JSON.parse(message) as BatchEvent).id);
        } catch {
          // Not ours to understand; polling covers it.
        }
      });
      await subscriber.subscribe(this.#options.keys.events());
    })();
    return this.#subscribed;
  }

  #nextLook(id: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#events.off(id, done);
        signal?.removeEventListener('abort', aborted);
      };
      const done = (): void => {
        cleanup();
        resolve();
      };
      const aborted = (): void => {
        cleanup();
        reject(signal?.reason);
      };
      const timer = setTimeout(done, ms);
      this.#events.on(id, done);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}
