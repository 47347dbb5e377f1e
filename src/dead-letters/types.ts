/**
 * A dead letter: a participant job that can never succeed as it is, with everything needed
 * to understand why and to replay it.
 */
import type { ParticipantJobData } from '../jobs/participant-job.js';
import type { FailureKind, UpdateParticipantParams } from '../signalwire/types.js';
import type { DeadLetterReason } from '../worker/types.js';

export type { DeadLetterReason } from '../worker/types.js';

/** One failed request of a job (successful ones end the job and are not recorded). */
export interface AttemptRecord {
  /** ISO 8601 time of the failure. */
  at: string;
  /** How the failure was classified; `error` for a failure that is not an API answer. */
  kind: FailureKind | 'error';
  /** HTTP status, when an answer came. */
  status?: number;
  /** What went wrong (SignalWire's message, or the network error). Never credentials. */
  message: string;
}

export interface DeadLetterEntry {
  /** The dead letter's id: the participant job's id (one dead letter per job). */
  id: string;
  /** Id of the participant job in its updates queue. */
  jobId: string;
  /**
   * The job's payload as enqueued. For `invalid` payloads caught at dequeue (enqueue
   * prevents them) this is the raw stored data.
   */
  job: ParticipantJobData;
  reason: DeadLetterReason;
  /** HTTP status of the last answer. */
  status?: number;
  /** SignalWire error code of the last answer. */
  code?: number;
  /** SignalWire's message (or the failure's message). */
  apiMessage?: string;
  /** SignalWire's `more_info` URL. */
  moreInfo?: string;
  /** Failed requests, oldest first (at most the last 50). */
  attempts: AttemptRecord[];
  /** `hostname:pid` of the worker that dead-lettered the job. */
  worker: string;
  /** ISO 8601. */
  deadLetteredAt: string;
}

/** What `DeadLetters.add` takes: `id` is the job id; `worker` and the time are filled in. */
export type NewDeadLetter = Omit<DeadLetterEntry, 'id' | 'worker' | 'deadLetteredAt'> &
  Partial<Pick<DeadLetterEntry, 'worker' | 'deadLetteredAt'>>;

export interface ListDeadLettersOptions {
  /** @defaultValue 50 */
  limit?: number;
  /** Entries skipped (after filtering), newest first. @defaultValue 0 */
  offset?: number;
  /** Only entries of this batch. */
  batchId?: string;
  /** Only entries of this space profile. */
  space?: string;
  /** Only entries of these space profiles (a space-limited API token). */
  spaces?: readonly string[];
}

export interface ReplayOptions {
  /** Dead letters to replay. */
  ids?: string[];
  /** Replay every dead letter (of `spaces`, when given). */
  all?: boolean;
  /** With `all`: only entries of these space profiles. */
  spaces?: readonly string[];
  /** Parameters changed before replaying (e.g. a fixed `HoldUrl`). */
  set?: Partial<UpdateParticipantParams>;
}

export interface ReplayResult {
  /** Dead letters this call took and enqueued. */
  replayed: number;
  /** Ids of the jobs this call enqueued, in the order of the dead letters. */
  jobIds: string[];
  /** Entries a concurrent replay took first (their one job is that replay's). */
  alreadyTaken?: string[];
}

/** `spaces` limits `all` to entries of those space profiles. */
export type PurgeOptions = { ids: string[] } | { all: true; spaces?: readonly string[] };
