/**
 * The contract between the worker pipeline and what plugs into it: the batch hooks
 * (latest intent wins, batch progress) and extra workers the worker process also runs
 * (fan-out, schedules).
 */
import type { Processor } from 'bullmq';
import type { ParticipantJobData } from '../jobs/participant-job.js';
import type { UpdateParticipantParams } from '../signalwire/types.js';

/** Terminal outcome of a participant job. */
export type JobOutcome = 'succeeded' | 'gone' | 'superseded' | 'dead_lettered';

/** Why a participant job was dead-lettered. */
export type DeadLetterReason = 'invalid' | 'exhausted' | 'unsafe-retry';

/** What `beforeSend` decides. */
export type SendDecision =
  | { superseded: true }
  | {
      superseded: false;
      /** The parameters to send (the job's own, or what the newest intent leaves to send). */
      params: UpdateParticipantParams;
    };

/** What is known about a terminal outcome. */
export interface OutcomeDetail {
  /** HTTP status of the last answer, when there was one. */
  status?: number;
  /** SignalWire error code of the last answer, when it had one. */
  code?: number;
  /** SignalWire's message or the failure's message. */
  message?: string;
  /** Set when `outcome` is `dead_lettered`. */
  reason?: DeadLetterReason;
  /** Requests sent for this job by this run of the processor. */
  requests: number;
  /**
   * True when the stored payload failed validation at dequeue (enqueue prevents this).
   * `job` is then the raw stored data: only fields you check yourself can be trusted.
   */
  invalidPayload?: boolean;
}

/** What `afterSend` is told. */
export interface AfterSendDetail {
  /** Requests sent by this run of the processor (0 when it was parked before sending). */
  requests: number;
  /**
   * The terminal outcome, set only once `onOutcome` resolved for it (so what `onOutcome`
   * released needs no second release); undefined when the job goes back to the queue
   * (retry, shutdown) or `onOutcome` failed.
   */
  outcome: JobOutcome | undefined;
}

/**
 * Hooks of the participant pipeline. Every hook may be called again for the same job id
 * (a crash or a retry re-runs the job), so each must be idempotent per job id. A hook that
 * throws hands the job back to BullMQ, which retries it.
 */
export interface PipelineHooks {
  /**
   * Called before a job waits for the circuit and the rate limiter, and again right before
   * every try (after the wait, after each quick retry), so that the newest intent decides
   * however long the wait was and the claim it takes is renewed. `{ superseded: true }`
   * completes the job as `superseded` without a further request.
   * @defaultValue send the job's own params
   */
  beforeSend?(job: ParticipantJobData, jobId: string): Promise<SendDecision>;
  /** Called once per terminal outcome of a job, before `afterSend`. */
  onOutcome?(
    job: ParticipantJobData,
    jobId: string,
    outcome: JobOutcome,
    detail: OutcomeDetail,
  ): Promise<void>;
  /**
   * Called exactly once per run whose first `beforeSend` did not answer `superseded`, whatever
   * happened next (terminal outcome, handed back to the queue, parked on shutdown): the
   * place to release what `beforeSend` took, unless `onOutcome` already did.
   */
  afterSend?(job: ParticipantJobData, jobId: string, detail: AfterSendDetail): Promise<void>;
  /**
   * Which of these participant job ids of a batch already have an outcome: a run of a chunk
   * job (src/worker/chunk.ts) skips them, so that its re-runs send only for the others.
   * @defaultValue none is skipped
   */
  withOutcome?(batchId: string, jobIds: readonly string[]): Promise<Set<string>>;
}

/** Another queue the worker process serves (fan-out, schedules). */
export interface ExtraWorkerSpec {
  /** Queue name without the prefix, e.g. `QUEUE_NAMES.fanout`. */
  queueName: string;
  processor: Processor;
  /** Jobs of this queue in flight per process. @defaultValue 1 */
  concurrency?: number;
}

/** What a participant job's processor returns (stored as the completed job's return value). */
export interface ParticipantJobResult {
  outcome: JobOutcome;
  status?: number;
  reason?: DeadLetterReason;
}
