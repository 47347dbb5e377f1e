/**
 * Validation of a BulkActionRequest before anything is written: shape and formats (zod,
 * strict objects), then the rules that span fields (which target, which parameters for
 * which action, a known space profile). Every failure is a ValidationError whose message
 * starts with the dotted field and says what is allowed.
 */
import { z } from 'zod';
import { getSpace, type ConfbulkConfig } from '../config.js';
import { ValidationError } from '../errors.js';
import { canonicalSid, SID_PATTERN } from '../jobs/participant-job.js';
import { UPDATE_PARAM_NAMES, type UpdateParticipantParams } from '../signalwire/types.js';
import { BULK_ACTIONS, resolveAction } from './actions.js';
import { BULK_ACTION_NAMES, type BulkActionName, type BulkTarget } from '../types.js';

/** Limits of one request. */
export const REQUEST_LIMITS = {
  /** Entries of `target.callSids`. */
  callSids: 10_000,
  /** Entries of `target.except`. */
  except: 10_000,
  /** Characters of `target.conferenceName` (the API's FriendlyName limit). */
  conferenceName: 64,
  /** Characters of `idempotencyKey`. */
  idempotencyKey: 200,
  /** Characters of a URL. */
  url: 2048,
} as const;

/** Longest `space` echoed in an error (configured names are at most 32 characters). */
const SPACE_NAME_MAX = 100;

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]+$/;

/** Idempotency keys of schedule runs start with this; user keys may not. */
export const SCHEDULE_KEY_PREFIX = 'schedule:';

/** SIDs are accepted in any case and stored in their canonical spelling (see canonicalSid). */
const sid = z
  .string()
  .regex(SID_PATTERN, { message: 'must be a UUID (or a Twilio-style SID)' })
  .transform(canonicalSid);

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

const httpUrl = z
  .string()
  .max(REQUEST_LIMITS.url, { message: `must be at most ${REQUEST_LIMITS.url} characters` })
  .refine(isHttpUrl, { message: 'must be an http:// or https:// URL' });

const method = z.enum(['GET', 'POST'], { message: 'must be GET or POST' });

const paramsSchema = z.strictObject({
  Muted: z.boolean().optional(),
  Hold: z.boolean().optional(),
  HoldUrl: httpUrl.optional(),
  HoldMethod: method.optional(),
  AnnounceUrl: httpUrl.optional(),
  AnnounceMethod: method.optional(),
  WaitUrl: httpUrl.optional(),
  WaitMethod: method.optional(),
  Coaching: z.boolean().optional(),
  CallSidToCoach: sid.optional(),
});

const filterSchema = z.strictObject({
  muted: z.boolean().optional(),
  hold: z.boolean().optional(),
});

const targetSchema = z.strictObject({
  conferenceSid: sid.optional(),
  conferenceName: z
    .string()
    .min(1, { message: 'must not be empty' })
    .max(REQUEST_LIMITS.conferenceName, {
      message: `must be at most ${REQUEST_LIMITS.conferenceName} characters`,
    })
    .optional(),
  newest: z.boolean().optional(),
  callSids: z
    .array(sid)
    .min(1, { message: 'must list at least one call SID' })
    .max(REQUEST_LIMITS.callSids, {
      message: `must list at most ${REQUEST_LIMITS.callSids} call SIDs`,
    })
    .optional(),
  except: z
    .array(sid)
    .max(REQUEST_LIMITS.except, { message: `must list at most ${REQUEST_LIMITS.except} call SIDs` })
    .optional(),
  filter: filterSchema.optional(),
});

/** The structure and formats of a request; cross-field rules are in `validateBulkActionRequest`. */
export const bulkActionRequestSchema = z.strictObject({
  action: z.enum(BULK_ACTION_NAMES, { message: `must be one of: ${BULK_ACTION_NAMES.join(', ')}` }),
  // Any name is looked up among the configured profiles (checkSpace): an unknown one, even
  // `__proto__`, gets the error that lists the known ones.
  space: z
    .string()
    .min(1, { message: 'must not be empty' })
    .max(SPACE_NAME_MAX, { message: `must be at most ${SPACE_NAME_MAX} characters` })
    .optional(),
  target: targetSchema,
  params: paramsSchema.optional(),
  idempotencyKey: z
    .string()
    .min(1, { message: 'must not be empty' })
    .max(REQUEST_LIMITS.idempotencyKey, {
      message: `must be at most ${REQUEST_LIMITS.idempotencyKey} characters`,
    })
    .regex(IDEMPOTENCY_KEY_PATTERN, { message: 'may contain only letters, digits and . _ : -' })
    .refine((key) => !key.toLowerCase().startsWith(SCHEDULE_KEY_PREFIX), {
      message: `must not start with '${SCHEDULE_KEY_PREFIX}' (the keys of schedule runs)`,
    })
    .optional(),
  webhookUrl: httpUrl.optional(),
});

/** A request that passed every check, with defaults applied and lists de-duplicated. */
export interface ValidatedRequest {
  action: BulkActionName;
  space: string;
  target: BulkTarget;
  /** Exactly what is sent to every participant. */
  params: UpdateParticipantParams;
  op: 'update' | 'remove';
  idempotencyKey?: string;
  webhookUrl?: string;
}

const KEYS_AT: Record<string, readonly string[]> = {
  '': Object.keys(bulkActionRequestSchema.shape),
  target: Object.keys(targetSchema.shape),
  'target.filter': Object.keys(filterSchema.shape),
};

function fieldOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, part) =>
      typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part),
    '',
  );
}

function allowedParams(action: unknown): string {
  if (typeof action === 'string' && Object.hasOwn(BULK_ACTIONS, action)) {
    const def = BULK_ACTIONS[action as BulkActionName];
    const allowed = [...def.required, ...def.optional];
    return `allowed for action '${action}': ${allowed.length ? allowed.join(', ') : 'none'}`;
  }
  return `documented parameters: ${UPDATE_PARAM_NAMES.join(', ')}`;
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>): ValidationError {
  const where = fieldOf(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const field = where ? `${where}.${issue.keys[0]}` : (issue.keys[0] ?? '');
    const allowed =
      where === 'params'
        ? allowedParams(input.action)
        : `allowed: ${(KEYS_AT[where] ?? []).join(', ')}`;
    const what = where === 'params' ? 'unknown parameter' : 'unknown field';
    return new ValidationError(`${field}: ${what}; ${allowed}`, field);
  }
  const field = where || 'request';
  if (issue.code === 'invalid_type') {
    const missing = valueAt(input, issue.path) === undefined;
    const extra = field === 'action' ? `; allowed actions: ${BULK_ACTION_NAMES.join(', ')}` : '';
    return new ValidationError(
      `${field}: ${missing ? 'is required' : `must be ${article(issue.expected)}`}${extra}`,
      field,
    );
  }
  return new ValidationError(`${field}: ${issue.message}`, field);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** One conference, by SID or by name; an explicit list of calls needs the SID for its paths. */
function checkTarget(target: BulkTarget, action: BulkActionName): void {
  const { conferenceSid, conferenceName, callSids, filter } = target;
  if (callSids !== undefined && conferenceSid === undefined) {
    throw new ValidationError(
      'target.callSids: needs target.conferenceSid (the conference is part of every request path)',
      'target.callSids',
    );
  }
  if (conferenceSid === undefined && conferenceName === undefined) {
    throw new ValidationError(
      'target: give exactly one of target.conferenceSid or target.conferenceName',
      'target',
    );
  }
  if (target.newest !== undefined && conferenceName === undefined) {
    throw new ValidationError(
      'target.newest: applies to target.conferenceName only (a SID names one conference)',
      'target.newest',
    );
  }
  if (conferenceSid !== undefined && conferenceName !== undefined) {
    throw new ValidationError(
      'target.conferenceName: give either target.conferenceSid or target.conferenceName, not both',
      'target.conferenceName',
    );
  }
  if (callSids !== undefined && filter !== undefined) {
    throw new ValidationError(
      'target.filter: applies to listed participants only; it cannot be combined with target.callSids',
      'target.filter',
    );
  }
  const implied = BULK_ACTIONS[action].impliedFilter;
  if (implied?.hold !== undefined && filter?.hold !== undefined && filter.hold !== implied.hold) {
    throw new ValidationError(
      `target.filter.hold: action '${action}' targets only participants with hold=${implied.hold}`,
      'target.filter.hold',
    );
  }
}

function normaliseTarget(target: BulkTarget, action: BulkActionName): BulkTarget {
  const out: BulkTarget = {};
  if (target.conferenceSid !== undefined) out.conferenceSid = target.conferenceSid;
  if (target.conferenceName !== undefined) out.conferenceName = target.conferenceName;
  if (target.newest) out.newest = true;
  if (target.callSids !== undefined) out.callSids = [...new Set(target.callSids)];
  if (target.except?.length) out.except = [...new Set(target.except)];
  const implied = BULK_ACTIONS[action].impliedFilter;
  const filter = target.callSids === undefined ? { ...target.filter, ...implied } : undefined;
  if (filter && Object.keys(filter).length > 0) out.filter = filter;
  return out;
}

function checkSpace(config: ConfbulkConfig, space: string): void {
  try {
    getSpace(config, space);
  } catch (err) {
    throw new ValidationError(`space: ${(err as Error).message}`, 'space');
  }
}

/**
 * Checks a request completely; nothing is written anywhere.
 * @throws ValidationError whose `field` names the offending field.
 */
export function validateBulkActionRequest(
  config: ConfbulkConfig,
  input: unknown,
): ValidatedRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError('request: must be an object with action and target', 'request');
  }
  const parsed = bulkActionRequestSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw issue
      ? describeIssue(issue, input as Record<string, unknown>)
      : new ValidationError('request: invalid', 'request');
  }
  const req = parsed.data;
  checkTarget(req.target, req.action);
  const resolved = resolveAction(req.action, req.params);
  const space = req.space ?? 'default';
  checkSpace(config, space);
  if (req.webhookUrl !== undefined && !config.webhookSecret) {
    throw new ValidationError(
      'webhookUrl: completion webhooks are signed; set CONFBULK_WEBHOOK_SECRET first',
      'webhookUrl',
    );
  }
  const out: ValidatedRequest = {
    action: req.action,
    space,
    target: normaliseTarget(req.target, req.action),
    params: resolved.params,
    op: resolved.op,
  };
  if (req.idempotencyKey !== undefined) out.idempotencyKey = req.idempotencyKey;
  if (req.webhookUrl !== undefined) out.webhookUrl = req.webhookUrl;
  return out;
}
