/**
 * What an answer means for a participant job, once a try has it: a 2xx is bookkeeping only
 * (the send record says `sent`, then the outcome); a failure that consumes no attempt
 * (429, 401/403, a transient failure with the circuit not closed) sends the job back to
 * the gate; the failure that ends the quick retries becomes an outcome (gone, a dead
 * letter) or goes back to BullMQ. A 422, or a 2xx saying `completed`, is checked by a
 * paced follow-up GET: a participant that left counts as gone, not as invalid.
 */
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ParticipantsApi } from '../signalwire/api.js';
import { LeaverCheck, type LeaverCheckOptions } from '../signalwire/leaver-check.js';
import type { Participant, ResponseMeta } from '../signalwire/types.js';
import { decideFailure, mayHaveLeft, statusClass } from './classify.js';
import type { PipelineCircuit, PipelineLimiter } from './gate.js';
import { outcomeFacts, type OutcomeWriter, type Run } from './pipeline-outcomes.js';
import type { SendRecords } from './send-record.js';
import type { ParticipantJobResult } from './types.js';

/** What a 2xx answered: its meta, and the participant of an update. */
export interface Answer {
  meta: ResponseMeta;
  participant?: Participant;
}

export interface AnswerHandlerOptions {
  space: string;
  client: ParticipantsApi;
  limiter: PipelineLimiter;
  circuit: PipelineCircuit;
  sendRecords: SendRecords;
  logger: Logger;
  metrics?: Metrics;
  leaverCheck?: LeaverCheckOptions;
}

/** At most one "credentials rejected" error line per space in this interval. */
const CREDENTIALS_LOG_INTERVAL_MS = 10_000;

export class AnswerHandler {
  readonly #o: AnswerHandlerOptions;
  readonly #out: OutcomeWriter;
  readonly #leavers: LeaverCheck;
  readonly #log: Logger;
  #credentialsLoggedAt = -Infinity;
  /** The `space` label of this pipeline's metrics, made once. */
  readonly #spaceLabel: { space: string };

  constructor(options: AnswerHandlerOptions, out: OutcomeWriter) {
    this.#o = options;
    this.#out = out;
    this.#spaceLabel = { space: options.space };
    this.#log = options.logger.child({ component: 'pipeline', space: options.space });
    this.#leavers = new LeaverCheck(options.client, options.leaverCheck);
  }

  /**
   * After a 2xx: bookkeeping only, retried in process; the request is never sent again. A
   * 2xx whose participant says `completed` counts as gone when a GET shows it left.
   */
  async succeeded(run: Run, { meta, participant }: Answer): Promise<ParticipantJobResult> {
    const { status } = meta;
    const ticket = run.sent;
    if (ticket) {
      await this.#out.bookkeeping('marking the announcement sent', run.jobId, () =>
        this.#o.sendRecords.markSent(ticket, status),
      );
    }
    if (participant?.status === 'completed' && (await this.#hasLeft(run))) {
      const message = 'the update was answered for a participant whose call completed';
      return this.#out.finish(run, 'gone', { requests: run.requests, status, message });
    }
    return this.#out.finish(run, 'succeeded', { requests: run.requests, status });
  }

  /** Handles a failure that consumes no attempt; true when the job should go back to the gate. */
  async absorb(run: Run, err: unknown, started: number): Promise<boolean> {
    const decision = decideFailure(err, run.idempotent);
    if (decision.action === 'unexpected') return false;
    const { error } = decision;
    this.answered(error.status, decision.action, started);
    void this.#o.limiter.observe(error.rateLimit);
    switch (decision.action) {
      case 'rate_limited':
        // The API answered (a half-open probe has its answer); it only wants fewer requests.
        await this.#o.circuit.recordSuccess();
        await this.#o.limiter.onRateLimited(error.retryAfterMs);
        return true;
      case 'unauthorized':
        await this.#out.record(run, err);
        this.#logCredentialsRejected(run, error.status, error.code, error.apiMessage);
        await this.#o.circuit.pauseForCredentials(
          `${String(error.status)} ${error.apiMessage ?? error.message}`,
        );
        return true;
      case 'transient': {
        await this.#out.record(run, err);
        // Not closed any more (opened, or another process is probing or paused it): wait
        // for it at the gate rather than spend quick retries or attempts.
        const state = await this.#o.circuit.recordTransientFailure();
        return decision.safeToRetry && state !== 'closed';
      }
      case 'invalid':
        await this.#out.record(run, err);
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
  async conclude(run: Run, err: unknown): Promise<ParticipantJobResult> {
    const decision = decideFailure(err, run.idempotent);
    if (decision.action === 'gone') {
      return this.#out.finish(run, 'gone', { requests: run.requests, ...outcomeFacts(err) });
    }
    if (decision.action === 'invalid') {
      if (mayHaveLeft(decision.error) && (await this.#hasLeft(run))) {
        return this.#out.finish(run, 'gone', { requests: run.requests, ...outcomeFacts(err) });
      }
      return this.#out.deadLetter(run, 'invalid', err);
    }
    if (decision.action === 'transient' && !decision.safeToRetry)
      return this.#out.deadLetter(run, 'unsafe-retry', err);
    throw err;
  }

  /**
   * Whether the participant of an ambiguous answer left, by a paced follow-up GET. When
   * the GET cannot tell (it failed), the answer keeps its own meaning. Not aborted at
   * shutdown: the job is in flight, and an aborted check would leave a leaver `invalid`.
   */
  async #hasLeft(run: Run): Promise<boolean> {
    const { conferenceSid, callSid } = run.data;
    const found = await this.#leavers.verdict(conferenceSid, callSid);
    if (found.verdict === 'unknown') {
      this.#log.warn(
        { jobId: run.jobId, err: found.error },
        'could not tell whether the participant left; the answer stands',
      );
    }
    return found.verdict === 'left';
  }

  answered(status: number | undefined, outcome: string, started: number): void {
    const { metrics, space } = this.#o;
    if (!metrics) return;
    metrics.requests.inc({ space, status_class: statusClass(status), outcome });
    metrics.requestDuration.observe(this.#spaceLabel, (performance.now() - started) / 1000);
  }
}
