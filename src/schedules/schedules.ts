/**
 * Schedules: a bulk action run once at a time (`at`) or on a cron, stored as BullMQ job
 * schedulers on the schedules queue, so they live in Redis and survive every restart. The
 * request is validated completely when the schedule is added and again at each run (the
 * configuration may have changed); a conference named by friendly name is resolved when
 * the run's fan-out lists it.
 */
import { CronExpressionParser } from 'cron-parser';
import {
  UnrecoverableError,
  type Job,
  type JobSchedulerJson,
  type Queue,
  type RepeatOptions,
} from 'bullmq';
import { z } from 'zod';
import type { ConfbulkConfig } from '../config.js';
import { ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BulkActionSubmitter } from '../bulk-actions/submit.js';
import { webhookGuardOf, type WebhookGuard } from '../webhooks/guard.js';
import {
  bulkActionRequestSchema,
  SCHEDULE_KEY_PREFIX,
  validateBulkActionRequest,
} from '../bulk-actions/request-schema.js';
import type { BulkActionRequest, Schedule, Schedules, ScheduleSpec } from '../types.js';
import type { FiredOneOffs } from './fired.js';
import { checkMinInterval, type SkippedRuns } from './limits.js';

export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

/** ISO 8601 date and time with seconds optional and a `Z` or numeric offset required. */
const ISO_WITH_OFFSET =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** A one-off is a scheduler with a long interval and a limit of one run. */
const ONE_OFF_EVERY_MS = 366 * 24 * 3600 * 1000;

export interface ScheduleJobData {
  spec: ScheduleSpec;
  createdAt: string;
}

const specSchema = z.strictObject({
  name: z
    .string()
    .regex(SCHEDULE_NAME_PATTERN, { message: 'must be 1 to 100 letters, digits, . _ or -' }),
  at: z.string().optional(),
  cron: z.string().optional(),
  tz: z.string().optional(),
  request: z.unknown(),
});

function fail(field: string, message: string): never {
  throw new ValidationError(`${field}: ${message}`, field);
}

function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    fail('tz', `'${tz}' is not an IANA time zone (e.g. Europe/Berlin, UTC)`);
  }
}

function checkCron(cron: string, tz: string): void {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    fail(
      'cron',
      `must have 5 fields (minute hour day month weekday) or 6 (seconds first); got ${fields}`,
    );
  }
  try {
    CronExpressionParser.parse(cron, { tz }).next();
  } catch (err) {
    fail('cron', `'${cron}' is not a valid cron pattern: ${(err as Error).message}`);
  }
}

function checkAt(at: string, now: number): number {
  const ms = Date.parse(at);
  if (!ISO_WITH_OFFSET.test(at) || Number.isNaN(ms)) {
    fail(
      'at',
      `must be an ISO 8601 time with Z or an offset (e.g. 2030-01-31T09:00:00+01:00); got '${at}'`,
    );
  }
  if (ms <= now) fail('at', `must be in the future; got ${at}`);
  return ms;
}

/** Prefixes a request's validation error with `request.`. */
function checkRequest(config: ConfbulkConfig, request: unknown): void {
  try {
    validateBulkActionRequest(config, request);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new ValidationError(
      `request.${err.message}`,
      `request.${err.field ?? ''}`.replace(/\.$/, ''),
    );
  }
}

/**
 * Checks a schedule completely.
 * @returns the spec (cron schedules get their `tz`, UTC by default) and its repeat options.
 * @throws ValidationError naming the field.
 */
export function validateScheduleSpec(
  config: ConfbulkConfig,
  input: unknown,
  now = Date.now(),
): { spec: ScheduleSpec; repeat: RepeatOptions } {
  const parsed = specSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field =
      issue?.code === 'unrecognized_keys' ? (issue.keys[0] ?? '') : (issue?.path.join('.') ?? '');
    const message =
      issue?.code === 'unrecognized_keys'
        ? 'unknown field; allowed: name, at, cron, tz, request'
        : issue?.message;
    fail(field || 'schedule', message ?? 'invalid');
  }
  const { name, at, cron, tz } = parsed.data;
  if ((at === undefined) === (cron === undefined)) fail('at', 'give exactly one of at or cron');
  checkRequest(config, parsed.data.request);
  // Stored as the schema returns it: SIDs in their canonical spelling.
  const request = bulkActionRequestSchema.parse(parsed.data.request) as BulkActionRequest;
  if (at !== undefined) {
    if (tz !== undefined) fail('tz', 'applies to cron only (at carries its own offset)');
    const startDate = checkAt(at, now);
    return {
      spec: { name, at, request },
      repeat: { every: ONE_OFF_EVERY_MS, startDate, limit: 1 },
    };
  }
  const zone = tz ?? 'UTC';
  checkTimeZone(zone);
  checkCron(cron as string, zone);
  checkMinInterval(cron as string, zone, config.schedule.minIntervalMs);
  return {
    spec: { name, cron: cron as string, tz: zone, request },
    repeat: { pattern: cron as string, tz: zone },
  };
}

function toSchedule(scheduler: JobSchedulerJson<ScheduleJobData>): Schedule | undefined {
  const data = scheduler.template?.data;
  if (!data?.spec) return undefined;
  const schedule: Schedule = { ...data.spec, createdAt: data.createdAt };
  if (scheduler.next) schedule.nextRunAt = new Date(scheduler.next).toISOString();
  return schedule;
}

/** Schedules kept as job schedulers of `queue`. */
export class ScheduleStore implements Schedules {
  constructor(
    private readonly config: ConfbulkConfig,
    /** The schedules queue, opened on first use (opening one writes to Redis). */
    private readonly openQueue: () => Queue,
    /** Where the workers record runs skipped for being late. */
    private readonly skipped: SkippedRuns,
    /** Where webhooks may go. @defaultValue the guard of `config` */
    private readonly webhookGuard: WebhookGuard = webhookGuardOf(config),
    /** Where the workers record the runs of one-offs. @defaultValue none are listed */
    private readonly fired?: FiredOneOffs,
  ) {}

  private get queue(): Queue {
    return this.openQueue();
  }

  /** @throws ValidationError when the space of `spec` is at its cap (another name). */
  private async checkCap(spec: ScheduleSpec): Promise<void> {
    const space = spec.request.space ?? 'default';
    const max = this.config.schedule.maxPerSpace;
    const others = (await this.list()).filter(
      (s) => !s.fired && (s.request.space ?? 'default') === space && s.name !== spec.name,
    );
    if (others.length >= max) {
      throw new ValidationError(
        `request.space: space '${space}' has ${others.length} schedules, the most allowed ` +
          `(CONFBULK_SCHEDULE_MAX_PER_SPACE = ${max}); remove one or replace one by its name`,
        'request.space',
      );
    }
  }

  async add(input: ScheduleSpec): Promise<Schedule> {
    const { spec, repeat } = validateScheduleSpec(this.config, input);
    if (spec.request.webhookUrl !== undefined) {
      await this.webhookGuard.check(spec.request.webhookUrl).catch((err: unknown) => {
        throw err instanceof ValidationError
          ? new ValidationError(`request.${err.message}`, 'request.webhookUrl')
          : err;
      });
    }
    await this.checkCap(spec);
    const data: ScheduleJobData = { spec, createdAt: new Date().toISOString() };
    await this.fired?.forget(spec.name);
    await this.queue.upsertJobScheduler(spec.name, repeat, {
      name: 'scheduled-bulk-action',
      data,
      opts: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
        removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    });
    const stored = await this.queue.getJobScheduler(spec.name);
    return (
      (stored && toSchedule(stored as JobSchedulerJson<ScheduleJobData>)) ?? {
        ...spec,
        createdAt: data.createdAt,
      }
    );
  }

  /** Every schedule, the next due first. */
  async list(): Promise<Schedule[]> {
    const schedulers = (await this.queue.getJobSchedulers(
      0,
      -1,
      true,
    )) as JobSchedulerJson<ScheduleJobData>[];
    const skipped = await this.skipped.all();
    const live = schedulers.flatMap((s) => {
      const schedule = toSchedule(s);
      if (!schedule) return [];
      const run = skipped.get(schedule.name);
      return [run ? { ...schedule, lastSkippedRun: run } : schedule];
    });
    const names = new Set(live.map((s) => s.name));
    const fired: Schedule[] = (await (this.fired?.all() ?? Promise.resolve([])))
      .filter((r) => !names.has(r.spec.name))
      .map((r) => ({
        ...r.spec,
        createdAt: r.createdAt,
        fired: { at: r.firedAt, batchId: r.batchId },
      }));
    return [...live, ...fired];
  }

  async get(name: string): Promise<Schedule | undefined> {
    if (!SCHEDULE_NAME_PATTERN.test(name)) return undefined;
    const stored = await this.queue.getJobScheduler(name);
    return stored ? toSchedule(stored as JobSchedulerJson<ScheduleJobData>) : undefined;
  }

  async remove(name: string): Promise<boolean> {
    if (!SCHEDULE_NAME_PATTERN.test(name)) return false;
    const removed = await this.queue.removeJobScheduler(name);
    if (removed) await this.skipped.forget(name);
    const wasFired = (await this.fired?.all())?.some((r) => r.spec.name === name) ?? false;
    if (wasFired) await this.fired?.forget(name);
    return removed || wasFired;
  }
}

export interface ScheduleProcessorOptions {
  submitter: BulkActionSubmitter;
  /** The schedules queue (a one-off schedule is removed once it has run). */
  queue: Queue;
  logger: Logger;
  /** Where runs skipped for being late are recorded. */
  skipped: SkippedRuns;
  /** A run later than this is skipped (`config.schedule.maxLateMs`). */
  maxLateMs: number;
  /** Where the runs of one-offs are recorded (they vanish from the queue). */
  fired?: FiredOneOffs;
}

export type ScheduleRunResult =
  { batchId: string; created: boolean } | { skipped: 'late'; runAt: string; lateMs: number };

/** The run time a scheduler's job id names (`repeat:<name>:<ms>`). */
function runMillis(job: Job): number {
  return Number(String(job.id).split(':').pop());
}

/** A one-off is removed after its run, unless it was replaced meanwhile by a newer one. */
async function removeIfDone(queue: Queue, job: Job<ScheduleJobData>): Promise<void> {
  const current = await queue.getJobScheduler(job.data.spec.name);
  if (current && current.next === runMillis(job)) {
    await queue.removeJobScheduler(job.data.spec.name);
  }
}

/** The schedules queue's processor: each run creates a batch (once, even when re-run). */
export function createScheduleProcessor(options: ScheduleProcessorOptions) {
  return async (job: Job<ScheduleJobData>): Promise<ScheduleRunResult> => {
    const { spec } = job.data;
    const runAt = runMillis(job);
    // A retry of a run that began in time is not late: its batch may already exist.
    const lateMs = Date.now() - runAt;
    if (job.attemptsMade === 0 && Number.isFinite(runAt) && lateMs > options.maxLateMs) {
      const run = await options.skipped.record(spec.name, runAt);
      options.logger.warn(
        { schedule: spec.name, runAt: run.runAt, lateMs, maxLateMs: options.maxLateMs },
        'scheduled run skipped: it would have started too late',
      );
      if (spec.at) await removeIfDone(options.queue, job);
      return { skipped: 'late', runAt: run.runAt, lateMs };
    }
    try {
      const { batch, created } = await options.submitter.submit(spec.request, {
        schedule: spec.name,
        idempotencyKey: `${SCHEDULE_KEY_PREFIX}${String(job.id)}`,
      });
      options.logger.info(
        { schedule: spec.name, batchId: batch.id, created },
        'scheduled bulk action submitted',
      );
      if (spec.at) {
        await options.fired?.record({
          spec,
          createdAt: job.data.createdAt,
          firedAt: new Date().toISOString(),
          batchId: batch.id,
        });
        await removeIfDone(options.queue, job);
      }
      return { batchId: batch.id, created };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      options.logger.error(
        { schedule: spec.name, err },
        'scheduled bulk action is no longer valid',
      );
      if (spec.at) await removeIfDone(options.queue, job);
      throw new UnrecoverableError(`schedule '${spec.name}': ${err.message}`);
    }
  };
}
