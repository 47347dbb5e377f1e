/**
 * The bookkeeping end of the participant pipeline: a job's terminal outcome (attempt history
 * cleared, the `onOutcome` hook, metrics) and its dead letter. Once a request had its
 * answer, only this bookkeeping is retried, never the request: each Redis write is retried
 * in process (p-retry, up to `bookkeepingRetryMs`) before the job is handed back, so a
 * Redis blip or a failover after a 2xx does not send the request again.
 */
import type { Job } from 'bullmq';
import pRetry from 'p-retry';
import type { AttemptHistory } from '../dead-letters/attempt-history.js';
import type { DeadLetters } from '../dead-letters/dead-letters.js';
import type { ParticipantJobData } from '../jobs/participant-job.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { UpdateParticipantParams } from '../signalwire/types.js';
import { attemptRecord, failureFacts } from './classify.js';
import type { SendTicket } from './send-record.js';
import type {
  DeadLetterReason,
  JobOutcome,
  OutcomeDetail,
  ParticipantJobResult,
  PipelineHooks,
} from './types.js';

/**
 * What the pipeline uses of a participant's BullMQ job: a job of its own, or a participant's
 * view of the chunk job that carries it (src/worker/chunk.ts).
 */
export type ParticipantJob = Pick<
  Job<ParticipantJobData, ParticipantJobResult>,
  'id' | 'data' | 'attemptsMade' | 'opts' | 'moveToDelayed'
>;

/** One run of the processor for one job: what it sent and what it learned. */
export interface Run {
  job: ParticipantJob;
  jobId: string;
  data: ParticipantJobData;
  idempotent: boolean;
  /** What the next try sends (the newest intent may drop fields between tries). */
  params: UpdateParticipantParams;
  requests: number;
  /** Failures written to the attempt history by this run. */
  recorded: number;
  /** When (performance.now) the newest intent was last checked, if the next try may rely on it. */
  checkedAt?: number;
  /** The send record of the try that got a 2xx (non-idempotent jobs only). */
  sent?: SendTicket;
}

export interface OutcomeWriterOptions {
  space: string;
  deadLetters: Pick<DeadLetters, 'add'>;
  history: AttemptHistory;
  hooks?: PipelineHooks;
  logger: Logger;
  metrics?: Metrics;
  onOutcome?: (outcome: JobOutcome) => void;
  /**
   * How long a bookkeeping write is retried in process before the job is handed back.
   * @defaultValue 30000
   */
  bookkeepingRetryMs?: number;
}

export function outcomeFacts(err: unknown): Pick<OutcomeDetail, 'status' | 'code' | 'message'> {
  const facts = failureFacts(err);
  const out: Pick<OutcomeDetail, 'status' | 'code' | 'message'> = {
    message: facts.apiMessage ?? facts.message,
  };
  if (facts.status !== undefined) out.status = facts.status;
  if (facts.code !== undefined) out.code = facts.code;
  return out;
}

export class OutcomeWriter {
  readonly #o: OutcomeWriterOptions;
  readonly #log: Logger;

  constructor(options: OutcomeWriterOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'pipeline', space: options.space });
  }

  /**
   * Runs a bookkeeping write, retrying it in process; throws its last error. The first try
   * runs on its own (nearly every write succeeds at once); p-retry takes over after a failure.
   */
  async bookkeeping<T>(what: string, jobId: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      // One line for the first failure, not one per retry.
      this.#log.warn({ err, jobId }, `${what} failed; retrying it (not the request)`);
    }
    return pRetry(write, {
      retries: 1000,
      factor: 2,
      minTimeout: 50,
      maxTimeout: 2000,
      randomize: true,
      maxRetryTime: this.#o.bookkeepingRetryMs ?? 30_000,
    });
  }

  async record(run: Run, err: unknown): Promise<void> {
    await this.#o.history.record(run.jobId, attemptRecord(err));
    run.recorded++;
  }

  async finish(
    run: Run,
    outcome: JobOutcome,
    detail: OutcomeDetail,
    report = true,
  ): Promise<ParticipantJobResult> {
    await this.bookkeeping('recording the outcome', run.jobId, async () => {
      if (run.recorded > 0 || run.job.attemptsMade > 0) await this.#o.history.clear(run.jobId);
      if (report) await this.#o.hooks?.onOutcome?.(run.data, run.jobId, outcome, detail);
    });
    this.#o.metrics?.jobOutcomes.inc({ space: this.#o.space, outcome });
    this.#o.onOutcome?.(outcome);
    const result: ParticipantJobResult = { outcome };
    if (detail.status !== undefined) result.status = detail.status;
    if (detail.reason !== undefined) result.reason = detail.reason;
    return result;
  }

  async deadLetter(
    run: Run,
    reason: DeadLetterReason,
    err: unknown,
  ): Promise<ParticipantJobResult> {
    const facts = failureFacts(err);
    await this.bookkeeping('writing the dead letter', run.jobId, async () => {
      const attempts = await this.#o.history.read(run.jobId);
      await this.#o.deadLetters.add({
        jobId: run.jobId,
        job: run.data,
        reason,
        ...(facts.status !== undefined && { status: facts.status }),
        ...(facts.code !== undefined && { code: facts.code }),
        apiMessage: facts.apiMessage ?? facts.message,
        ...(facts.moreInfo !== undefined && { moreInfo: facts.moreInfo }),
        attempts,
      });
    });
    this.#log.warn(
      { jobId: run.jobId, reason, status: facts.status, code: facts.code, message: facts.message },
      'participant job dead-lettered',
    );
    return this.finish(run, 'dead_lettered', {
      requests: run.requests,
      reason,
      ...outcomeFacts(err),
    });
  }

  async invalidPayload(job: ParticipantJob, jobId: string, err: unknown) {
    const data = job.data;
    const run: Run = {
      job,
      jobId,
      data,
      idempotent: true,
      params: {},
      requests: 0,
      recorded: 0,
    };
    const message = failureFacts(err).message;
    this.#log.error(
      { jobId, err },
      'participant job payload is invalid; dead-lettered without a request',
    );
    await this.bookkeeping('writing the dead letter', jobId, () =>
      this.#o.deadLetters.add({
        jobId,
        job: data,
        reason: 'invalid',
        apiMessage: message,
        attempts: [],
      }),
    );
    const hasBatch = typeof (data as { batchId?: unknown } | null)?.batchId === 'string';
    return this.finish(
      run,
      'dead_lettered',
      { requests: 0, reason: 'invalid', invalidPayload: true, message },
      hasBatch,
    );
  }
}
