/**
 * Submitting a bulk action: validate everything, create the batch (or find the one its
 * idempotency key names), queue its fan-out, return. Shared by the library facade and the
 * schedule worker.
 */
import type { Queue } from 'bullmq';
import type { ConfbulkConfig } from '../config.js';
import type { BatchStore, CreatedBatch } from '../batches/store.js';
import { enqueueFanout } from '../fanout/fanout.js';
import { IdempotencyConflictError } from '../producer/errors.js';
import { webhookGuardOf, type WebhookGuard } from '../webhooks/guard.js';
import { validateBulkActionRequest } from './request-schema.js';

export interface SubmitOptions {
  /** The schedule this run belongs to (recorded on the batch). */
  schedule?: string;
  /** Replaces the request's idempotency key (a schedule's run has its own). */
  idempotencyKey?: string;
}

export class BulkActionSubmitter {
  constructor(
    private readonly config: ConfbulkConfig,
    private readonly batches: BatchStore,
    /** The fan-out queue, opened on first use (opening one writes to Redis). */
    private readonly fanoutQueue: () => Queue,
    /** Where webhooks may go. @defaultValue the guard of `config` */
    private readonly webhookGuard: WebhookGuard = webhookGuardOf(config),
  ) {}

  /** @throws ValidationError naming the field, before anything is written. */
  async submit(input: unknown, options: SubmitOptions = {}): Promise<CreatedBatch> {
    const req = validateBulkActionRequest(this.config, input);
    if (req.webhookUrl !== undefined) await this.webhookGuard.check(req.webhookUrl);
    if (options.idempotencyKey !== undefined) req.idempotencyKey = options.idempotencyKey;
    const created = await this.batches.create(
      req,
      options.schedule === undefined ? {} : { schedule: options.schedule },
    );
    if (created.sameRequest === false) {
      throw new IdempotencyConflictError(req.idempotencyKey ?? '', created.batch.id);
    }
    // An existing batch still listing may have lost its fan-out job to a crash of its
    // creator; queuing it again is a no-op when it is there.
    if (created.created || created.batch.state === 'listing') {
      await enqueueFanout(this.fanoutQueue(), created.batch.id);
    }
    return created;
  }
}
