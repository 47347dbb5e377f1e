/**
 * Schemas of the schedule resource. The nested request is the producer's own schema; the
 * time rules (a future `at`, a valid cron pattern and zone) are checked by the producer.
 */
import { z } from 'zod';
import { bulkActionRequestSchema } from '../../bulk-actions/request-schema.js';
import { SCHEDULE_NAME_PATTERN } from '../../schedules/schedules.js';

const scheduleName = z.string({ message: 'must be a string' }).regex(SCHEDULE_NAME_PATTERN, {
  message: 'must be 1 to 100 characters: letters, digits and . _ -',
});

export const scheduleSpecBody = z.strictObject({
  name: scheduleName.meta({
    description: 'Unique name; an existing schedule of that name is replaced',
  }),
  at: z
    .string({ message: 'must be an ISO 8601 time with Z or an offset' })
    .optional()
    .meta({ description: 'Run once at this ISO 8601 time (with Z or an offset)' }),
  cron: z
    .string({ message: 'must be a cron pattern' })
    .optional()
    .meta({ description: 'Run on this cron pattern (5 fields, or 6 with seconds first)' }),
  tz: z
    .string({ message: 'must be an IANA time zone' })
    .optional()
    .meta({ description: 'IANA time zone of cron (default UTC)' }),
  request: bulkActionRequestSchema,
});

export const scheduleSchema = scheduleSpecBody
  .extend({
    nextRunAt: z.string().optional(),
    createdAt: z.string(),
    lastSkippedRun: z
      .object({
        runAt: z.string(),
        skippedAt: z.string(),
        lateMs: z.number().int(),
        count: z.number().int(),
      })
      .optional()
      .meta({
        description:
          'The last run skipped for starting more than CONFBULK_SCHEDULE_MAX_LATE_MS late',
      }),
  })
  .describe('A bulk action that runs at a time or on a cron pattern');

export const scheduleListBody = z.object({ schedules: z.array(scheduleSchema) });

export const scheduleNameParams = z.strictObject({ name: scheduleName });
