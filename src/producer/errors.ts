/**
 * Errors of the producer API. Recognised by `instanceof` or by `name` (they cross process
 * boundaries, e.g. through the HTTP API).
 */
import { ConfbulkError } from '../errors.js';
import type { Batch } from '../types.js';

/** No batch has this id (never created, or expired after its retention). */
export class BatchNotFoundError extends ConfbulkError {
  constructor(readonly batchId: string) {
    super(
      `batch '${batchId}' not found (never created, or older than the retention of ended batches)`,
    );
  }
}

/** `waitForBatch` gave up after `timeoutMs`; the batch goes on. */
export class BatchWaitTimeoutError extends ConfbulkError {
  constructor(
    readonly batchId: string,
    readonly timeoutMs: number,
    /** The batch as last seen. */
    readonly batch: Batch,
  ) {
    super(
      `batch '${batchId}' did not end within ${timeoutMs} ms (state ${batch.state}, ${batch.counts.pending} pending); it goes on`,
    );
  }
}

/** An idempotency key was used again with a different request (HTTP 409). */
export class IdempotencyConflictError extends ConfbulkError {
  readonly field = 'idempotencyKey';
  constructor(
    readonly idempotencyKey: string,
    /** The batch the key names. */
    readonly batchId: string,
  ) {
    super(
      `idempotencyKey: '${idempotencyKey}' was used for a different request (batch ${batchId}); ` +
        'use a new key for a new request, or send the same request to get that batch back',
    );
  }
}

/** `waitForBatch` could not read the batch at all before `timeoutMs` (Redis does not answer). */
export class BatchUnreadableError extends ConfbulkError {
  constructor(
    readonly batchId: string,
    readonly timeoutMs: number,
  ) {
    super(`batch '${batchId}' could not be read within ${timeoutMs} ms: Redis does not answer`);
  }
}
