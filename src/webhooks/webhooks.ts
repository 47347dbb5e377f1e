/**
 * Completion webhooks: when a batch ends, its final state is POSTed to the batch's
 * `webhookUrl`, signed (signature.ts). Delivery is a BullMQ job (deterministic id per
 * batch, which is also the delivery id), so it survives a crash of the worker that ended
 * the batch and is retried with backoff while the receiver is down. Every attempt goes
 * through the webhook guard (guard.ts): the URL is checked again, the connection resolves
 * the host through the guard and its remote address is checked; redirects are not followed.
 */
import { DelayedError, UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import { Agent, buildConnector, fetch } from 'undici';
import type { WebhookState } from '../batches/reason/types.js';
import type { Logger } from '../logger.js';
import type { BatchStore } from '../batches/store.js';
import { QUEUE_NAMES } from '../queues.js';
import type { Batch } from '../types.js';
import { WebhookAddressError, WebhookGuard, WebhookResolveError } from './guard.js';
import { EVENT_HEADER, signWebhook } from './signature.js';

export * from './signature.js';

/** Queue of webhook deliveries (under the configured prefix). */
export const WEBHOOKS_QUEUE = QUEUE_NAMES.webhooks;

export interface WebhookJobData {
  batchId: string;
}

/** Attempts and backoff of a delivery: about 17 minutes of retries in all. */
export const WEBHOOK_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Queues the delivery of a batch's webhook; a second call for the same batch is a no-op. */
export async function enqueueWebhook(queue: Queue, batchId: string): Promise<void> {
  await queue.add('batch-webhook', { batchId } satisfies WebhookJobData, {
    ...WEBHOOK_JOB_OPTIONS,
    jobId: `webhook.${batchId}`,
  });
}

export interface WebhookProcessorOptions {
  batches: BatchStore;
  /** `config.webhookSecret`. */
  secret: string | undefined;
  logger: Logger;
  /** Timeout of one delivery. @defaultValue 10000 */
  timeoutMs?: number;
  /** Where deliveries may go. @defaultValue a guard with no allow-list and the system resolver */
  guard?: WebhookGuard;
  /**
   * Extra CA certificates trusted for receivers (PEM), besides the system's; in production
   * NODE_EXTRA_CA_CERTS does the same. @defaultValue none
   */
  ca?: string[];
  /** Records the webhook's state on its batch (src/batches/reason/notes.ts). */
  note?: (batchId: string, state: WebhookState) => Promise<void>;
  /** How long a webhook this worker cannot sign goes back to the queue. @defaultValue 30000 */
  handBackMs?: number;
}

/** Where a webhook goes, for logs: the origin only (a query string may hold a token). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * An undici dispatcher whose connections resolve hosts through the guard and are dropped
 * when the connected address is not one the guard allows.
 */
function guardedDispatcher(guard: WebhookGuard, ca: string[] | undefined): Agent {
  const connector = buildConnector({ lookup: guard.guardedLookup, ...(ca && { ca }) });
  return new Agent({
    connect: (options, callback) => {
      connector(options, (...args) => {
        const [err, socket] = args;
        if (err) return callback(err, null);
        if (!guard.connectedAddressAllowed(options.hostname, socket.remoteAddress)) {
          socket.destroy();
          return callback(
            new WebhookAddressError(
              `webhook host '${options.hostname}' connected to an address that is not public; dropped`,
            ),
            null,
          );
        }
        return callback(null, socket);
      });
    },
  });
}

/** The processor of the webhooks queue. */
export function createWebhookProcessor(
  options: WebhookProcessorOptions,
): (job: Job<WebhookJobData>, token?: string) => Promise<{ status: number } | { skipped: string }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const guard = options.guard ?? new WebhookGuard();
  const dispatcher = guardedDispatcher(guard, options.ca);
  const note = (batchId: string, state: WebhookState['state'], message?: string): Promise<void> =>
    (
      options.note?.(batchId, {
        state,
        at: new Date().toISOString(),
        ...(message && { message }),
      }) ?? Promise.resolve()
    ).catch(() => {});
  return async (job, token) => {
    const batch = await options.batches.get(job.data.batchId);
    if (!batch?.webhookUrl) return { skipped: batch ? 'no webhookUrl' : 'batch expired' };
    const to = originOf(batch.webhookUrl);
    if (!options.secret) {
      // Never sent unsigned, never dropped: back to the queue for a worker with the secret.
      const message =
        'CONFBULK_WEBHOOK_SECRET is not set on the worker that took it; it waits for a worker that has it';
      options.logger.warn({ batchId: batch.id, to }, `completion webhook not sent: ${message}`);
      await note(batch.id, 'pending', message);
      await job.moveToDelayed(Date.now() + (options.handBackMs ?? 30_000), token);
      throw new DelayedError();
    }
    try {
      await guard.check(batch.webhookUrl);
    } catch (err) {
      // DNS may answer again later: retried with backoff like a receiver that is down.
      if (err instanceof WebhookResolveError) {
        await note(batch.id, 'pending', err.message);
        throw new Error(`webhook of batch ${batch.id}: ${err.message}`);
      }
      // The address rule (or the allow-list) changed since submission, or DNS did.
      options.logger.warn(
        { batchId: batch.id, to, err: (err as Error).message },
        'completion webhook refused by the address guard',
      );
      await note(batch.id, 'failed', `refused by the address guard: ${(err as Error).message}`);
      throw new UnrecoverableError(`webhook of batch ${batch.id}: ${(err as Error).message}`);
    }
    try {
      const result = await deliver(
        batch,
        batch.webhookUrl,
        options.secret,
        String(job.id ?? `webhook.${batch.id}`),
      );
      await note(batch.id, 'delivered', `answered ${result.status}`);
      return result;
    } catch (err) {
      const attempt = (job.attemptsMade ?? 0) + 1;
      const last = attempt >= (job.opts?.attempts ?? 1);
      const message = (err as Error).message;
      options.logger.warn(
        { batchId: batch.id, to, attempt },
        `completion webhook failed${last ? '' : '; it will be retried'}: ${message}`,
      );
      await note(batch.id, last ? 'failed' : 'pending', message);
      throw err;
    }
  };

  async function deliver(
    batch: Batch,
    url: string,
    secret: string,
    deliveryId: string,
  ): Promise<{ status: number }> {
    const to = originOf(url);
    const body = JSON.stringify(batch);
    let response: Awaited<ReturnType<typeof fetch>>;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'confbulk-webhook',
          ...signWebhook(secret, body, deliveryId),
          [EVENT_HEADER]: `batch.${batch.state}`,
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
        dispatcher,
      });
    } catch (err) {
      const cause = (err as Error & { cause?: unknown }).cause;
      if (cause instanceof WebhookAddressError) {
        options.logger.warn(
          { batchId: batch.id, to, err: cause.message },
          'completion webhook refused by the address guard at delivery',
        );
      }
      // A name that resolves privately now may resolve publicly again: retried with backoff.
      throw err;
    }
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300) {
      throw new Error(`webhook of batch ${batch.id} to ${to} answered ${response.status}`);
    }
    options.logger.debug(
      { batchId: batch.id, to, status: response.status },
      'completion webhook delivered',
    );
    return { status: response.status };
  }
}
