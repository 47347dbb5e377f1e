/**
 * The public contract: what a caller asks for (a BulkActionRequest), what it gets back (a
 * Batch and a BatchHandle), schedules, and the Confbulk facade. The producer, the CLI, the
 * HTTP API and the worker-side modules (batches, fan-out, schedules) share these types.
 */
import type { BatchReason, WebhookState } from './batches/reason/types.js';
import type { UpdateParticipantParams } from './signalwire/types.js';

export type { BatchReason, BatchReasonCode, WebhookState } from './batches/reason/types.js';

/** Every bulk action confbulk knows. */
export const BULK_ACTION_NAMES = [
  'mute',
  'unmute',
  'hold',
  'unhold',
  'hold-music',
  'wait-music',
  'announce',
  'coach',
  'remove',
  'update',
] as const;

export type BulkActionName = (typeof BULK_ACTION_NAMES)[number];

/** Which participants of which conference an action applies to. */
export interface BulkTarget {
  /** The conference by SID. Required with `callSids`. */
  conferenceSid?: string;
  /** The in-progress conference with this friendly name, resolved when the fan-out runs. */
  conferenceName?: string;
  /**
   * With `conferenceName`: when several in-progress conferences have that name, take the
   * newest. Without it such a name is refused (at submission, and when the fan-out runs).
   */
  newest?: boolean;
  /** Exactly these participants (no listing); needs `conferenceSid`. At most 10,000. */
  callSids?: string[];
  /** Participants left alone (e.g. the host). At most 10,000. */
  except?: string[];
  /** Only participants in this state (passed to the API's list filters). */
  filter?: { muted?: boolean; hold?: boolean };
}

export interface BulkActionRequest {
  action: BulkActionName;
  /** Space profile name. @defaultValue `default` */
  space?: string;
  target: BulkTarget;
  /** Parameters of the action (e.g. `HoldUrl` for `hold-music`); see actions.ts. */
  params?: UpdateParticipantParams;
  /** The same key within 24 h returns the same batch instead of creating another. `[A-Za-z0-9._:-]`, at most 200. */
  idempotencyKey?: string;
  /** POSTed the finished batch (signed with HMAC-SHA256) when it completes or fails. */
  webhookUrl?: string;
}

export type BatchState = 'listing' | 'running' | 'completed' | 'failed';

export interface BatchCounts {
  /** Participants enqueued so far (final once the state leaves `listing`). */
  total: number;
  succeeded: number;
  /** The participant had left (404). */
  gone: number;
  /** A newer action on the same fields made the request unnecessary. */
  superseded: number;
  deadLettered: number;
  /** `total` minus every terminal outcome. */
  pending: number;
}

/** One bulk action on one conference and its progress. */
export interface Batch {
  id: string;
  action: BulkActionName;
  space: string;
  target: BulkTarget;
  /** The conference's SID: `target.conferenceSid`, or the one a conference name resolved to. */
  conferenceSid?: string;
  /** The parameters sent to every participant (after the action's mapping). */
  params: UpdateParticipantParams;
  op: 'update' | 'remove';
  /** Intent version: a higher one supersedes a lower one on the same fields. */
  intent: number;
  state: BatchState;
  counts: BatchCounts;
  /** ISO 8601. */
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why the batch failed (e.g. the conference does not exist). */
  error?: string;
  idempotencyKey?: string;
  webhookUrl?: string;
  /** The schedule that created this batch, when one did. */
  schedule?: string;
  /**
   * Why the batch waits or failed, and since when; absent while it simply makes progress
   * and once it completed. Computed when the batch is read.
   */
  reason?: BatchReason;
  /** The completion webhook: pending, delivered, failed or sent unsigned. */
  webhook?: WebhookState;
}

export interface WaitOptions {
  /** Stops waiting (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Called with fresh counts while waiting (about every `pollMs`). */
  onProgress?: (batch: Batch) => void;
  /** Rejects with a TimeoutError after this long. @defaultValue no timeout */
  timeoutMs?: number;
}

export interface BatchHandle {
  id: string;
  /** False when an idempotency key returned an existing batch. */
  created: boolean;
  /** The batch as it was when the handle was made. */
  batch: Batch;
  /** Resolves when the batch is `completed` or `failed`. */
  completed(options?: WaitOptions): Promise<Batch>;
}

export interface ScheduleSpec {
  /** Unique name of the schedule: `[A-Za-z0-9._-]`, 1 to 100 characters. */
  name: string;
  /** Run once at this time (ISO 8601 with `Z` or an offset, in the future). */
  at?: string;
  /** Run on this cron pattern (5 fields, or 6 with seconds first). */
  cron?: string;
  /** IANA time zone of `cron`. @defaultValue UTC */
  tz?: string;
  request: BulkActionRequest;
}

export interface Schedule extends ScheduleSpec {
  /** ISO 8601 time of the next run; absent when none is due any more. */
  nextRunAt?: string;
  createdAt: string;
  /** A one-off that ran: when, and the batch it created (listed for 7 days after). */
  fired?: { at: string; batchId: string };
  /** The last run skipped because it would have started too late, and how many were. */
  lastSkippedRun?: { runAt: string; skippedAt: string; lateMs: number; count: number };
}

export interface Schedules {
  /** Validates everything, then creates or replaces the schedule called `spec.name`. */
  add(spec: ScheduleSpec): Promise<Schedule>;
  list(): Promise<Schedule[]>;
  /** The schedule called `name`, or undefined. */
  get(name: string): Promise<Schedule | undefined>;
  /** False when no schedule had that name. */
  remove(name: string): Promise<boolean>;
}

export interface Confbulk {
  /** Validates, creates the batch, enqueues its fan-out and returns at once. */
  bulkAction(req: BulkActionRequest): Promise<BatchHandle>;
  getBatch(id: string): Promise<Batch | undefined>;
  /** Newest first. */
  listBatches(opts?: { limit?: number }): Promise<Batch[]>;
  waitForBatch(id: string, options?: WaitOptions): Promise<Batch>;
  schedules: Schedules;
  /** Closes what `createConfbulk` opened. Idempotent. */
  close(): Promise<void>;
}
