/**
 * Schemas of bulk actions and batches. The request schema is the producer's own, so that
 * the HTTP API accepts exactly what the library accepts.
 */
import { z } from 'zod';
import { bulkActionRequestSchema } from '../../bulk-actions/request-schema.js';
import { BATCH_REASON_CODES } from '../../batches/reason/types.js';
import { BULK_ACTION_NAMES } from '../../types.js';
import { limitQuery } from './common.js';

export { bulkActionRequestSchema };

const counts = z.object({
  total: z
    .number()
    .int()
    .meta({ description: 'Participants enqueued so far (final once the state leaves listing)' }),
  succeeded: z.number().int(),
  gone: z.number().int().meta({ description: 'The participant had left (404)' }),
  superseded: z
    .number()
    .int()
    .meta({ description: 'A newer action on the same fields made the request unnecessary' }),
  deadLettered: z.number().int(),
  pending: z.number().int(),
});

const batchReasonSchema = z
  .object({
    code: z.enum(BATCH_REASON_CODES),
    message: z.string(),
    since: z.string().optional().meta({ description: 'When this became true, when known' }),
    lastTrueAt: z.string().meta({ description: 'When this was last seen true' }),
    nextAt: z
      .string()
      .optional()
      .meta({ description: 'The next retry, probe or free slot of the rate window' }),
    command: z.string().optional().meta({ description: 'The command that clears it' }),
  })
  .meta({
    description:
      'Why the batch waits or failed; absent while it makes progress. Codes: failed, no-worker, ' +
      'listing-retry, space-paused, circuit-open, rate-limited',
  });

/** A batch as the API returns it (documentation of responses). */
export const batchSchema = z
  .object({
    id: z.string(),
    action: z.enum(BULK_ACTION_NAMES),
    space: z.string(),
    target: bulkActionRequestSchema.shape.target,
    params: z.record(z.string(), z.union([z.string(), z.boolean()])),
    op: z.enum(['update', 'remove']),
    intent: z.number().int(),
    state: z.enum(['listing', 'running', 'completed', 'failed']),
    counts,
    createdAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    error: z.string().optional(),
    idempotencyKey: z.string().optional(),
    webhookUrl: z.string().optional(),
    schedule: z.string().optional(),
    reason: batchReasonSchema.optional(),
    webhook: z
      .object({
        state: z.enum(['pending', 'delivered', 'failed', 'unsigned']),
        message: z.string().optional(),
        at: z.string(),
      })
      .optional()
      .meta({ description: 'The completion webhook of the batch, once it is due' }),
  })
  .describe('A bulk action on one conference and its progress');

export const createdBatchBody = z.object({
  created: z
    .boolean()
    .meta({ description: 'False when the idempotency key returned an existing batch' }),
  batch: batchSchema,
});

export const batchIdParams = z.strictObject({
  id: z.string().min(1).max(64, { message: 'must be at most 64 characters' }),
});

export const listBatchesQuery = z.strictObject({ limit: limitQuery(1000, 50) });

export const batchListBody = z.object({ batches: z.array(batchSchema) });
