/**
 * The per-participant job: one API request for one participant of one conference.
 * Validated with zod when enqueued and again when dequeued (the common payloads by a
 * direct check that accepts only what the schema accepts), so an invalid job never
 * reaches the API. It names a space profile, never credentials.
 */
import { z } from 'zod';
import { SPACE_NAME } from '../config.js';
import { ValidationError } from '../errors.js';
import type { Batch } from '../types.js';

/** SignalWire SIDs are UUIDs; Twilio-style SIDs (two letters + 32 hex) are accepted too. */
export const SID_PATTERN =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Z]{2}[0-9a-f]{32})$/i;

/** A SID in its canonical spelling, as `canonicalSid` returns it. */
const CANONICAL_SID =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Z]{2}[0-9a-f]{32})$/;

/**
 * The one spelling of a SID that confbulk stores and compares: hex digits lower-case (as
 * the API writes UUIDs), the two-letter prefix of a Twilio-style SID upper-case. Every SID
 * given as input goes through it, so `--except <SID IN UPPER CASE>` still names the host.
 */
export function canonicalSid(sid: string): string {
  const lower = sid.toLowerCase();
  return /^[a-z]{2}[0-9a-f]{32}$/.test(lower)
    ? lower.slice(0, 2).toUpperCase() + lower.slice(2)
    : lower;
}

/** A SID in any case, turned into its canonical spelling. */
export const sid = (what: string) =>
  z
    .string()
    .regex(SID_PATTERN, { message: `${what} must be a UUID (or a Twilio-style SID)` })
    .transform(canonicalSid);

const httpUrl = (what: string) =>
  z
    .string()
    .max(2048, { message: `${what} must be at most 2048 characters` })
    .refine(
      (s) => {
        try {
          const u = new URL(s);
          return u.protocol === 'http:' || u.protocol === 'https:';
        } catch {
          return false;
        }
      },
      { message: `${what} must be an http:// or https:// URL` },
    );

const method = (what: string) =>
  z.enum(['GET', 'POST'], { message: `${what} must be GET or POST` });

/** The documented update parameters, checked as the API checks them. */
export const updateParamsSchema = z
  .object({
    Muted: z.boolean({ message: 'Muted must be true or false' }).optional(),
    Hold: z.boolean({ message: 'Hold must be true or false' }).optional(),
    HoldUrl: httpUrl('HoldUrl').optional(),
    HoldMethod: method('HoldMethod').optional(),
    AnnounceUrl: httpUrl('AnnounceUrl').optional(),
    AnnounceMethod: method('AnnounceMethod').optional(),
    WaitUrl: httpUrl('WaitUrl').optional(),
    WaitMethod: method('WaitMethod').optional(),
    Coaching: z.boolean({ message: 'Coaching must be true or false' }).optional(),
    CallSidToCoach: sid('CallSidToCoach').optional(),
  })
  .strict()
  .refine((p) => p.Coaching !== true || p.CallSidToCoach !== undefined, {
    message: 'Coaching=true requires CallSidToCoach',
    path: ['CallSidToCoach'],
  });

export const participantJobSchema = z
  .object({
    /** Schema version of the payload. */
    v: z.literal(1),
    /** Space profile name (credentials are looked up by the worker). */
    space: z.string().regex(SPACE_NAME, { message: `space must match ${SPACE_NAME}` }),
    conferenceSid: sid('conferenceSid'),
    callSid: sid('callSid'),
    /** `update` = POST the params; `remove` = DELETE the participant. */
    op: z.enum(['update', 'remove']),
    params: updateParamsSchema,
    batchId: z.string().min(1).max(64),
    /** Intent version: a newer action on the same fields supersedes an older one. */
    intent: z.number().int().min(0),
    /** Set on a dead-letter replay: the id of the job whose outcome this one replaces. */
    replayOf: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((j) => j.op === 'remove' || Object.keys(j.params).length > 0, {
    message: 'an update needs at least one parameter',
    path: ['params'],
  });

export type ParticipantJobData = z.infer<typeof participantJobSchema>;

/** Turns the first zod issue into a ValidationError naming the field. */
export function toValidationError(error: z.ZodError, prefix = ''): ValidationError {
  const issue = error.issues[0];
  const field = [prefix, ...(issue?.path ?? []).map(String)].filter(Boolean).join('.');
  const message = issue?.message ?? 'invalid input';
  return new ValidationError(
    field && !message.startsWith(field.split('.').pop() ?? '') ? `${field}: ${message}` : message,
    field || undefined,
  );
}

/** Validates a payload, throwing a ValidationError naming the field. */
export function parseParticipantJob(data: unknown): ParticipantJobData {
  const parsed = participantJobSchema.safeParse(data);
  if (!parsed.success) throw toValidationError(parsed.error);
  return parsed.data;
}

const JOB_KEYS = new Set([
  'v',
  'space',
  'conferenceSid',
  'callSid',
  'op',
  'params',
  'batchId',
  'intent',
  'replayOf',
]);
/** The parameters of the common payloads (mute, hold, coaching off): booleans only. */
const BOOLEAN_PARAMS = new Set(['Muted', 'Hold', 'Coaching']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
  );
}

function isBoundedString(value: unknown, min: number, max: number): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

/**
 * True only for payloads that certainly pass `participantJobSchema`: the common shapes
 * (a removal, or updates setting Muted, Hold or Coaching=false) checked rule by rule as
 * the schema checks them. Anything else, valid or not, is left to the schema, so this
 * accepts a subset of what it accepts and never a payload it rejects.
 */
function isCommonValidJob(data: unknown): data is ParticipantJobData {
  if (!isPlainObject(data)) return false;
  for (const key of Object.keys(data)) if (!JOB_KEYS.has(key)) return false;
  const { v, space, conferenceSid, callSid, op, params, batchId, intent } = data;
  if (v !== 1 || (op !== 'update' && op !== 'remove')) return false;
  if (typeof space !== 'string' || !SPACE_NAME.test(space)) return false;
  // Only canonical SIDs: the schema would return others changed.
  if (typeof conferenceSid !== 'string' || !CANONICAL_SID.test(conferenceSid)) return false;
  if (typeof callSid !== 'string' || !CANONICAL_SID.test(callSid)) return false;
  if (!isBoundedString(batchId, 1, 64)) return false;
  if (typeof intent !== 'number' || !Number.isSafeInteger(intent) || intent < 0) return false;
  if ('replayOf' in data && !isBoundedString(data.replayOf, 1, 200)) return false;
  if (!isPlainObject(params)) return false;
  const names = Object.keys(params);
  if (op === 'update' && names.length === 0) return false;
  return names.every((name) => BOOLEAN_PARAMS.has(name) && typeof params[name] === 'boolean')
    ? params.Coaching !== true
    : false;
}

/**
 * Validates a payload read back from the queue. The common payloads take a direct check
 * (a few microseconds less per job than zod); everything else, and every error message,
 * comes from the schema as in `parseParticipantJob`.
 */
export function parseDequeuedJob(data: unknown): ParticipantJobData {
  return isCommonValidJob(data) ? data : parseParticipantJob(data);
}

/** The participant jobs of a batch for these call SIDs of its conference (fan-out, repair). */
export function participantJobsOf(
  batch: Pick<Batch, 'id' | 'space' | 'op' | 'params' | 'intent'>,
  conferenceSid: string,
  callSids: readonly string[],
): ParticipantJobData[] {
  return callSids.map((callSid) => ({
    v: 1,
    space: batch.space,
    conferenceSid,
    callSid,
    op: batch.op,
    params: batch.params,
    batchId: batch.id,
    intent: batch.intent,
  }));
}

/** Deterministic job id: re-enqueueing the same work is a no-op. */
export function participantJobId(batchId: string, callSid: string): string {
  return `${batchId}.${callSid}`;
}

/**
 * Whether repeating the request could change the outcome: an announcement plays twice,
 * a removal is final anyway, setting Muted/Hold/URLs is idempotent.
 */
export function isIdempotent(job: Pick<ParticipantJobData, 'op' | 'params'>): boolean {
  return job.op === 'remove' || job.params.AnnounceUrl === undefined;
}
