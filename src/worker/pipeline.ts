/**
 * The participant pipeline: the BullMQ processor of one participant job.
 *
 *   validate -> beforeSend (latest intent wins) -> [wait for the circuit -> rate-limit
 *   permit -> send -> classify] -> terminal outcome, or back to the queue
 *
 * Only a transient failure with the circuit closed consumes anything: first a few quick
 * in-process retries, then a BullMQ attempt. Waiting for an open circuit, for credentials
 * (401/403) or for the rate limiter (429) consumes no attempt, and a job waiting for any of
 * them at shutdown goes back to the queue as it was. A job that must be dead-lettered is
 * written to the dead-letter queue once (idempotent per job id) and then completes with
 * outcome `dead_lettered`, so it never lingers in BullMQ's failed set.
 */
import { DelayedError, type Job, type Processor } from 'bullmq';
import type { RetryConfig } from '../config.js';
import type { AttemptHistory } from '../dead-letters/attempt-history.js';
import type { DeadLetters } from '../dead-letters/dead-letters.js';
import {
  isIdempotent,
  parseDequeuedJob,
  type ParticipantJobData,
} from '../jobs/participant-job.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ParticipantsApi } from '../signalwire/api.js';
import type { ResponseMeta, UpdateParticipantParams } from '../signalwire/types.js';
import {
  attemptRecord,
  decideFailure,
  failureFacts,
  isQuickRetryable,
  statusClass,
} from './classify.js';
import type { PipelineCircuit, PipelineLimiter } from './gate.js';
import { Gate, ShutdownPark } from './gate.js';
import { withQuickRetries } from './quick-retry.js';
import type {
  DeadLetterReason,
  JobOutcome,
  OutcomeDetail,
  ParticipantJobResult,
  PipelineHooks,
} from './types.js';

export interface PipelineOptions {
  /** Space profile this processor serves (its queue is `updatesQueueName(space)`). */
  space: string;
  client: ParticipantsApi;
  limiter: PipelineLimiter;
  circuit: PipelineCircuit;
  deadLetters: Pick<DeadLetters, 'add'>;
  history: AttemptHistory;
  retry: RetryConfig;
  hooks?: PipelineHooks;
  logger: Logger;
  metrics?: Metrics;
  /** Aborted when the worker shuts down: jobs still waiting go back to the queue. */
  shutdown: AbortSignal;
  /**
   * How long a job handed back at shutdown stays delayed, so that the stopping process does
   * not take it again and another process does.
   * @defaultValue 1000
   */
  parkDelayMs?: number;
  /** Told every terminal outcome (the process's progress counters). */
  onOutcome?: (outcome: JobOutcome) => void;
}

type ParticipantJob = Job<ParticipantJobData, ParticipantJobResult>;

/** One run of the processor for one job: what it sent and what it learned. */
interface Run {
  job: ParticipantJob;
  jobId: string;
  data: ParticipantJobData;
  idempotent: boolean;
  requests: number;
  /** Failures written to the attempt history by this run. */
  recorded: number;
}

/** At most one "credentials rejected" error line per space in this interval. */
const CREDENTIALS_LOG_INTERVAL_MS = 10_000;

function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

export class ParticipantPipeline {
  readonly #o: PipelineOptions;
  readonly #gate: Gate;
  readonly #log: Logger;
  #credentialsLoggedAt = -Infinity;
  /** Errors already handed back to BullMQ (counted and recorded once). */
  readonly #handedOver = new WeakSet<object>();
  /** The `space` label of this pipeline's metrics, made once. */
  readonly #spaceLabel: { space: string };

  constructor(options: PipelineOptions) {
    this.#o = options;
    this.#spaceLabel = { space: options.space };
    this.#log = options.logger.child({ component: 'pipeline', space: options.space });
    this.#gate = new Gate(options.circuit, options.limiter, options.shutdown);
  }

  /** The BullMQ processor. */
  readonly processor: Processor<ParticipantJobData, ParticipantJobResult> = (job, token) =>
    this.#process(job, token);

  async #process(job: ParticipantJob, token: string | undefined): Promise<ParticipantJobResult> {
    const jobId = job.id ?? '';
    let data: ParticipantJobData;
    try {
      data = this.#validate(job.data);
    } catch (err) {
      return this.#invalidPayload(job, jobId, err);
    }
    const run: Run = { job, jobId, data, idempotent: isIdempotent(data), requests: 0, recorded: 0 };
    try {
      return await this.#decideAndSend(run, token);
    } catch (err) {
      // A failure before any send (beforeSend, a Redis blip) takes the same way back.
      if (err instanceof DelayedError || this.#handedOver.has(err as object)) throw err;
      return this.#handOver(run, err);
    }
  }

  /**
   * A failure that may succeed later: back to BullMQ, which retries it after the `confbulk`
   * backoff; on the last attempt, a dead letter instead (then the job completes).
   */
  async #handOver(run: Run, err: unknown): Promise<ParticipantJobResult> {
    try {
      if (decideFailure(err, run.idempotent).action === 'unexpected') {
        this.#log.warn({ err, jobId: run.jobId }, 'participant job failed unexpectedly');
        await this.#record(run, err);
      }
      if (isLastAttempt(run.job)) return await this.#deadLetter(run, 'exhausted', err);
      this.#o.metrics?.retries.inc({ space: this.#o.space, layer: 'queue' });
      throw err;
    } catch (thrown) {
      if (typeof thrown === 'object' && thrown !== null) this.#handedOver.add(thrown);
      throw thrown;
    }
  }

  /**
   * Dead-letters a job BullMQ failed for good outside the processor: stalled more often than
   * allowed, or its dead letter could not be written on its last attempt. Idempotent.
   */
  async rescueFailed(job: ParticipantJob, err: Error): Promise<void> {
    const run: Run = {
      job,
      jobId: job.id ?? '',
      data: job.data,
      idempotent: true,
      requests: 0,
      recorded: 0,
    };
    await this.#deadLetter(run, 'exhausted', err);
  }

  #validate(raw: unknown): ParticipantJobData {
    const data = parseDequeuedJob(raw);
    if (data.space !== this.#o.space) {
      throw new TypeError(
        `job of space '${data.space}' found in the queue of space '${this.#o.space}'`,
      );
    }
    return data;
  }

  async #decideAndSend(run: Run, token: string | undefined): Promise<ParticipantJobResult> {
    const { hooks } = this.#o;
    const decision = hooks?.beforeSend
      ? await hooks.beforeSend(run.data, run.jobId)
      : { superseded: false as const, params: run.data.params };
    if (decision.superseded) return this.#finish(run, 'superseded', { requests: 0 });
    let result: ParticipantJobResult | undefined;
    try {
      result = await this.#sendUntilDecided(run, decision.params, token);
      return result;
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      result = await this.#handOver(run, err);
      return result;
    } finally {
      await this.#afterSend(run, result);
    }
  }

  async #afterSend(run: Run, result: ParticipantJobResult | undefined): Promise<void> {
    try {
      await this.#o.hooks?.afterSend?.(run.data, run.jobId, {
        requests: run.requests,
        outcome: result?.outcome,
      });
    } catch (err) {
      // The outcome is already decided and reported; failing the job now would send again.
      this.#log.warn({ err, jobId: run.jobId }, 'afterSend hook failed');
    }
  }

  async #sendUntilDecided(
    run: Run,
    params: UpdateParticipantParams,
    token: string | undefined,
  ): Promise<ParticipantJobResult> {
    try {
      const meta = await this.#sendWithQuickRetries(run, params);
      return await this.#finish(run, 'succeeded', { requests: run.requests, status: meta.status });
    } catch (err) {
      if (err instanceof ShutdownPark) return this.#park(run, token);
      return this.#conclude(run, err);
    }
  }

  /**
   * The first try runs on its own, since nearly every try succeeds; p-retry takes over
   * only after a failure worth a quick retry, and is handed that failure as its own first
   * try, so that the retries, their delays and their metrics are those of one p-retry run.
   */
  async #sendWithQuickRetries(run: Run, params: UpdateParticipantParams): Promise<ResponseMeta> {
    let firstFailure: unknown;
    try {
      return await this.#sendOnce(run, params);
    } catch (err) {
      if (!isQuickRetryable(err, run.idempotent)) throw err;
      firstFailure = err;
    }
    let tries = 0;
    return withQuickRetries(
      () => (tries++ === 0 ? Promise.reject(firstFailure) : this.#sendOnce(run, params)),
      {
        retries: this.#o.retry.quickRetries,
        shouldRetry: (err) => isQuickRetryable(err, run.idempotent),
        onRetry: () => this.#o.metrics?.retries.inc({ space: this.#o.space, layer: 'quick' }),
      },
    );
  }

  /**
   * Sends once the gate lets it through; answers that consume nothing (429, 401/403, a
   * failure that opened the circuit) loop back to the gate. Throws the failures that end
   * this try.
   */
  async #sendOnce(run: Run, params: UpdateParticipantParams): Promise<ResponseMeta> {
    for (;;) {
      await this.#gate.pass();
      const started = performance.now();
      run.requests++;
      try {
        const { meta } = await this.#request(run.data, params);
        this.#answered(meta.status, 'succeeded', started);
        void this.#o.limiter.observe(meta.rateLimit);
        this.#o.limiter.onSuccess();
        await this.#o.circuit.recordSuccess();
        return meta;
      } catch (err) {
        if (!(await this.#absorb(run, err, started))) throw err;
      }
    }
  }

  #request(
    data: ParticipantJobData,
    params: UpdateParticipantParams,
  ): Promise<{ meta: ResponseMeta }> {
    const { client } = this.#o;
    return data.op === 'remove'
      ? client.removeParticipant(data.conferenceSid, data.callSid)
      : client.updateParticipant(data.conferenceSid, data.callSid, params);
  }

  /** Handles a failure that consumes no attempt; true when the job should go back to the gate. */
  async #absorb(run: Run, err: unknown, started: number): Promise<boolean> {
    const decision = decideFailure(err, run.idempotent);
    if (decision.action === 'unexpected') return false;
    const { error } = decision;
    this.#answered(error.status, decision.action, started);
    void this.#o.limiter.observe(error.rateLimit);
    switch (decision.action) {
      case 'rate_limited':
        // The API answered (a half-open probe has its answer); it only wants fewer requests.
        await this.#o.circuit.recordSuccess();
        await this.#o.limiter.onRateLimited(error.retryAfterMs);
        return true;
      case 'unauthorized':
        await this.#record(run, err);
        this.#logCredentialsRejected(run, error.status, error.code, error.apiMessage);
        await this.#o.circuit.pauseForCredentials(
          `${String(error.status)} ${error.apiMessage ?? error.message}`,
        );
        return true;
      case 'transient': {
        await this.#record(run, err);
        // Not closed any more (opened, or another process is probing or paused it): wait
        // for it at the gate rather than spend quick retries or attempts.
        const state = await this.#o.circuit.recordTransientFailure();
        return decision.safeToRetry && state !== 'closed';
      }
      case 'invalid':
        await this.#record(run, err);
        await this.#o.circuit.recordSuccess();
        return false;
      default:
        // gone: the server answered, so the space is up.
        await this.#o.circuit.recordSuccess();
        return false;
    }
  }

  /**
   * Every request in flight when credentials are revoked answers 401: one loud line per
   * interval says it, not one per job.
   */
  #logCredentialsRejected(run: Run, status?: number, code?: number, apiMessage?: string): void {
    const now = Date.now();
    if (now - this.#credentialsLoggedAt < CREDENTIALS_LOG_INTERVAL_MS) return;
    this.#credentialsLoggedAt = now;
    this.#log.error(
      { status, code, apiMessage, jobId: run.jobId },
      `space '${this.#o.space}' PAUSED: the API rejected its credentials (${String(status)}). ` +
        'Jobs wait, nothing is lost. Fix the API token or its scope, then resume the space.',
    );
  }

  /** Turns the failure that ended the quick retries into an outcome, or throws it on. */
  async #conclude(run: Run, err: unknown): Promise<ParticipantJobResult> {
    const decision = decideFailure(err, run.idempotent);
    if (decision.action === 'gone') {
      return this.#finish(run, 'gone', { requests: run.requests, ...outcomeFacts(err) });
    }
    if (decision.action === 'invalid') return this.#deadLetter(run, 'invalid', err);
    if (decision.action === 'transient' && !decision.safeToRetry)
      return this.#deadLetter(run, 'unsafe-retry', err);
    throw err;
  }

  #answered(status: number | undefined, outcome: string, started: number): void {
    const { metrics, space } = this.#o;
    if (!metrics) return;
    metrics.requests.inc({ space, status_class: statusClass(status), outcome });
    metrics.requestDuration.observe(this.#spaceLabel, (performance.now() - started) / 1000);
  }

  async #record(run: Run, err: unknown): Promise<void> {
    await this.#o.history.record(run.jobId, attemptRecord(err));
    run.recorded++;
  }

  /** Hands a job that was still waiting at shutdown back to the queue, consuming no attempt. */
  async #park(run: Run, token: string | undefined): Promise<never> {
    await run.job.moveToDelayed(Date.now() + (this.#o.parkDelayMs ?? 1000), token);
    throw new DelayedError('handed back to the queue at shutdown');
  }

  async #deadLetter(
    run: Run,
    reason: DeadLetterReason,
    err: unknown,
  ): Promise<ParticipantJobResult> {
    const facts = failureFacts(err);
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
    this.#log.warn(
      { jobId: run.jobId, reason, status: facts.status, code: facts.code, message: facts.message },
      'participant job dead-lettered',
    );
    return this.#finish(run, 'dead_lettered', {
      requests: run.requests,
      reason,
      ...outcomeFacts(err),
    });
  }

  async #invalidPayload(
    job: ParticipantJob,
    jobId: string,
    err: unknown,
  ): Promise<ParticipantJobResult> {
    const data = job.data;
    const run: Run = { job, jobId, data, idempotent: true, requests: 0, recorded: 0 };
    this.#log.error(
      { jobId, err },
      'participant job payload is invalid; dead-lettered without a request',
    );
    await this.#o.deadLetters.add({
      jobId,
      job: data,
      reason: 'invalid',
      apiMessage: failureFacts(err).message,
      attempts: [],
    });
    const hasBatch = typeof (data as { batchId?: unknown } | null)?.batchId === 'string';
    return this.#finish(
      run,
      'dead_lettered',
      { requests: 0, reason: 'invalid', invalidPayload: true, message: failureFacts(err).message },
      hasBatch,
    );
  }

  async #finish(
    run: Run,
    outcome: JobOutcome,
    detail: OutcomeDetail,
    report = true,
  ): Promise<ParticipantJobResult> {
    if (run.recorded > 0 || run.job.attemptsMade > 0) await this.#o.history.clear(run.jobId);
    if (report) await this.#o.hooks?.onOutcome?.(run.data, run.jobId, outcome, detail);
    this.#o.metrics?.jobOutcomes.inc({ space: this.#o.space, outcome });
    this.#o.onOutcome?.(outcome);
    const result: ParticipantJobResult = { outcome };
    if (detail.status !== undefined) result.status = detail.status;
    if (detail.reason !== undefined) result.reason = detail.reason;
    return result;
  }
}

function outcomeFacts(err: unknown): Pick<OutcomeDetail, 'status' | 'code' | 'message'> {
  const facts = failureFacts(err);
  const out: Pick<OutcomeDetail, 'status' | 'code' | 'message'> = {
    message: facts.apiMessage ?? facts.message,
  };
  if (facts.status !== undefined) out.status = facts.status;
  if (facts.code !== undefined) out.code = facts.code;
  return out;
}

/** Creates the processor of a space's updates queue. */
export function createParticipantProcessor(
  options: PipelineOptions,
): Processor<ParticipantJobData, ParticipantJobResult> {
  return new ParticipantPipeline(options).processor;
}
