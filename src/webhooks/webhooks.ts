/**
 * Completion webhooks: when a batch ends, its final state is POSTed to the batch's
 * `webhookUrl`, signed with HMAC-SHA256. Delivery is a BullMQ job (deterministic id per
 * batch), so it survives a crash of the worker that ended the batch and is retried with
 * backoff while the receiver is down.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import type { BatchStore } from '../batches/store.js';
import { QUEUE_NAMES } from '../queues.js';

/** Queue of webhook deliveries (under the configured prefix). */
export const WEBHOOKS_QUEUE = QUEUE_NAMES.webhooks;

/** `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const SIGNATURE_HEADER = 'x-confbulk-signature';
/** Unix seconds at which the delivery was signed. */
export const TIMESTAMP_HEADER = 'x-confbulk-timestamp';
/** `batch.completed` or `batch.failed`. */
export const EVENT_HEADER = 'x-confbulk-event';

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

/** The value of the signature header for `body`. */
export function signWebhookBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** For receivers: whether `signature` is the header confbulk would send for `body`. */
export function verifyWebhookSignature(
  secret: string,
  body: string,
  signature: string | undefined,
): boolean {
  if (!signature) return false;
  const expected = Buffer.from(signWebhookBody(secret, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

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
}

/** Where a webhook goes, for logs: the origin only (a query string may hold a token). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** The processor of the webhooks queue. */
export function createWebhookProcessor(
  options: WebhookProcessorOptions,
): (job: Job<WebhookJobData>) => Promise<{ status: number } | { skipped: string }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async (job) => {
    const batch = await options.batches.get(job.data.batchId);
    if (!batch?.webhookUrl) return { skipped: batch ? 'no webhookUrl' : 'batch expired' };
    if (!options.secret) {
      throw new UnrecoverableError(
        'cannot sign the completion webhook: CONFBULK_WEBHOOK_SECRET is not set on this worker',
      );
    }
    const body = JSON.stringify(batch);
    const response = await fetch(batch.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'confbulk-webhook',
        [SIGNATURE_HEADER]: signWebhookBody(options.secret, body),
        [TIMESTAMP_HEADER]: String(Math.floor(Date.now() / 1000)),
        [EVENT_HEADER]: `batch.${batch.state}`,
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300) {
      throw new Error(
        `webhook of batch ${batch.id} to ${originOf(batch.webhookUrl)} answered ${response.status}`,
      );
    }
    options.logger.debug(
      { batchId: batch.id, to: originOf(batch.webhookUrl), status: response.status },
      'completion webhook delivered',
    );
    return { status: response.status };
  };
}
