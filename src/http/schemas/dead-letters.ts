/**
 * Schemas of the dead-letter resource: listing, one entry, replay and purge.
 */
import { z } from 'zod';
import { SPACE_NAME } from '../../config.js';
import { bulkActionRequestSchema } from '../../bulk-actions/request-schema.js';
import { DEAD_LETTER_ID_PATTERN } from '../../dead-letters/replay.js';
import { limitQuery } from './common.js';

const deadLetterId = z
  .string({ message: 'must be a dead-letter id (a string)' })
  .min(1, { message: 'must not be empty' })
  .max(200, { message: 'must be at most 200 characters' })
  .regex(DEAD_LETTER_ID_PATTERN, {
    message: 'must be a dead-letter id: <batch id>.<call SID>, with .r<n> for a replay',
  });

const idList = z
  .array(deadLetterId, { message: 'must be an array of dead-letter ids' })
  .min(1, { message: 'must list at least one dead-letter id' })
  .max(10_000, { message: 'must list at most 10000 dead-letter ids' });

export const listDeadLettersQuery = z.strictObject({
  limit: limitQuery(1000, 50),
  offset: z.coerce
    .number({ message: 'must be a whole number of at least 0' })
    .int({ message: 'must be a whole number of at least 0' })
    .min(0, { message: 'must be a whole number of at least 0' })
    .default(0),
  batchId: z.string().min(1).max(64, { message: 'must be at most 64 characters' }).optional(),
  space: z
    .string()
    .regex(SPACE_NAME, { message: `must match ${SPACE_NAME}` })
    .optional(),
});

export const deadLetterIdParams = z.strictObject({ id: deadLetterId });

const attempt = z.object({
  at: z.string(),
  kind: z.string(),
  status: z.number().int().optional(),
  message: z.string(),
});

/** A dead letter as the API returns it (documentation of responses). */
export const deadLetterSchema = z
  .object({
    id: z.string(),
    jobId: z.string(),
    job: z.object({
      space: z.string(),
      conferenceSid: z.string(),
      callSid: z.string(),
      op: z.enum(['update', 'remove']),
      params: z.record(z.string(), z.union([z.string(), z.boolean()])),
      batchId: z.string(),
    }),
    reason: z.enum(['invalid', 'exhausted', 'unsafe-retry']),
    status: z.number().int().optional(),
    code: z.number().int().optional(),
    apiMessage: z.string().optional(),
    moreInfo: z.string().optional(),
    attempts: z.array(attempt),
    worker: z.string(),
    deadLetteredAt: z.string(),
  })
  .describe('A participant request that can never succeed as it is');

export const deadLetterListBody = z.object({
  total: z
    .number()
    .int()
    .meta({ description: 'Dead letters matching the batchId and space filters (all when none)' }),
  deadLetters: z.array(deadLetterSchema),
});

/** `ids` or `all: true`, never both. */
function oneSelection(body: { ids?: string[]; all?: boolean }, ctx: z.RefinementCtx): void {
  const byIds = body.ids !== undefined;
  const all = body.all === true;
  if (byIds === all) {
    ctx.addIssue({
      code: 'custom',
      path: byIds ? ['all'] : ['ids'],
      message: byIds
        ? 'give either ids or all: true, not both'
        : 'give ids (an array of dead-letter ids) or all: true',
    });
  }
}

export const replayBody = z
  .strictObject({
    ids: idList.optional(),
    all: z.boolean({ message: 'must be true or false' }).optional(),
    set: bulkActionRequestSchema.shape.params.describe(
      'Parameters changed before replaying, e.g. a fixed HoldUrl',
    ),
  })
  .superRefine(oneSelection);

export const replayResultBody = z.object({
  replayed: z.number().int().describe('dead letters this request took and enqueued'),
  jobIds: z.array(z.string()).describe('ids of the jobs enqueued (`<original job id>.r<n>`)'),
  alreadyTaken: z
    .array(z.string())
    .optional()
    .describe('entries a concurrent replay took first; their one job is that replay’s'),
});

export const purgeBody = z
  .strictObject({
    ids: idList.optional(),
    all: z.literal(true, { message: 'must be true (to purge every dead letter)' }).optional(),
  })
  .superRefine(oneSelection);

export const purgeResultBody = z.object({ purged: z.number().int() });
