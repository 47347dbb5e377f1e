/**
 * The participant pipeline: the BullMQ processor of one participant job.
 *
 *   validate -> beforeSend (latest intent wins) -> per try: [wait for the circuit ->
 *   rate-limit permit -> beforeSend again unless the last check is under 20 ms old
 *   (supersession checked, claim renewed) -> send
 *   record (announcements) -> send -> classify] -> terminal outcome, or back to the queue
 *
 * Only a transient failure with the circuit closed consumes anything: first a few quick
 * in-process retries, then a BullMQ attempt. Waiting for an open circuit, for credentials
 * (401/403) or for the rate limiter (429) consumes no attempt, and a job waiting for any of
 * them at shutdown goes back to the queue as it was. A job that must be dead-lettered is
 * written to the dead-letter queue once (idempotent per job id) and then completes with
 * outcome `dead_lettered`, so it never lingers in BullMQ's failed set.
 *
 * Sent at most once where a repeat is audible: an announcement takes its send record
 * (send-record.ts) right before it leaves; a job that comes back and finds it never sends
 * again. After a 2xx only bookkeeping is retried (pipeline-outcomes.ts), never the request.
 * What each answer means for the job is pipeline-answers.ts.
 */
import { DelayedError, type Processor } from 'bullmq';
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
import type { LeaverCheckOptions } from '../signalwire/leaver-check.js';
import type { UpdateParticipantParams } from '../signalwire/types.js';
import { decideFailure, isQuickRetryable, mayHaveApplied, neverLeft } from './classify.js';
import type { PipelineCircuit, PipelineLimiter } from './gate.js';
import { Gate, ShutdownPark } from './gate.js';
import { AnswerHandler, type Answer } from './pipeline-answers.js';
import { OutcomeWriter, type ParticipantJob, type Run } from './pipeline-outcomes.js';
import { withQuickRetries } from './quick-retry.js';
import {
  COOL_DOWN_MS,
  SendRecordNotReplicatedError,
  type EarlierSend,
  type SendRecords,
  type SendTicket,
} from './send-record.js';
import type { ParticipantJobResult, PipelineHooks, JobOutcome } from './types.js';

export interface PipelineOptions {
  /** Space profile this processor serves (its queue is `updatesQueueName(space)`). */
  space: string;
  client: ParticipantsApi;
  limiter: PipelineLimiter;
  circuit: PipelineCircuit;
  deadLetters: Pick<DeadLetters, 'add'>;
  history: AttemptHistory;
  /** Send records of non-idempotent requests (announcements). */
  sendRecords: SendRecords;
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
  /** How long bookkeeping writes are retried in process. @defaultValue 30000 */
  bookkeepingRetryMs?: number;
  /** Told every terminal outcome (the process's progress counters). */
  onOutcome?: (outcome: JobOutcome) => void;
  /** Pacing of the follow-up GETs that tell leavers from invalid requests. */
  leaverCheck?: LeaverCheckOptions;
}

/**
 * A check of the newest intent this recent stands for the one right before a try: the claim
 * it took still holds, so a newer intent's request waits for this one's answer, and a newer
 * intent recorded in between costs at most this one request (it is not superseded). Saves
 * a claim call per participant when the gate lets it through at once (an idle window).
 */
const FRESH_CHECK_MS = 20;

/** Resolves after `ms`, or at once when `signal` aborts (the gate then parks the job). */
function waitFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A newer intent took over every field of the job between two tries. */
class SupersededAtTry extends Error {}

/** An earlier run of this job left its send record: it must not send again. */
class EarlierSendFound extends Error {
  constructor(readonly earlier: EarlierSend) {
    super(
      earlier.state === 'sent'
        ? 'an earlier run of this job already got a 2xx'
        : 'an earlier run of this job sent the announcement and its answer was never recorded ' +
            '(the worker stopped or lost Redis); it may have been played, so it is not sent again',
    );
    this.name = 'EarlierSendFound';
  }
}

function isLastAttempt(job: ParticipantJob): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

export class ParticipantPipeline {
  readonly #o: PipelineOptions;
  readonly #gate: Gate;
  readonly #answers: AnswerHandler;
  readonly #log: Logger;
  readonly #out: OutcomeWriter;
  /** Errors already handed back to BullMQ (counted and recorded once). */
  readonly #handedOver = new WeakSet<object>();

  constructor(options: PipelineOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'pipeline', space: options.space });
    this.#gate = new Gate(options.circuit, options.limiter, options.shutdown);
    this.#out = new OutcomeWriter(options);
    this.#answers = new AnswerHandler(options, this.#out);
  }

  /** The BullMQ processor. */
  readonly processor: Processor<ParticipantJobData, ParticipantJobResult> = (job, token) =>
    this.run(job, token);

  /**
   * Runs one participant's job: its own BullMQ job, or a chunk member's view of its chunk
   * (src/worker/chunk.ts). Resolves with the terminal outcome; throws what BullMQ must see
   * (a retry, or DelayedError after a hand-back at shutdown).
   */
  async run(job: ParticipantJob, token: string | undefined): Promise<ParticipantJobResult> {
    const jobId = job.id ?? '';
    let data: ParticipantJobData;
    try {
      data = this.#validate(job.data);
    } catch (err) {
      return this.#out.invalidPayload(job, jobId, err);
    }
    const run: Run = {
      job,
      jobId,
      data,
      idempotent: isIdempotent(data),
      params: data.params,
      requests: 0,
      recorded: 0,
    };
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
        await this.#out.record(run, err);
      }
      if (isLastAttempt(run.job)) return await this.#out.deadLetter(run, 'exhausted', err);
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
      params: job.data.params,
      requests: 0,
      recorded: 0,
    };
    await this.#out.deadLetter(run, 'exhausted', err);
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
    // Checked before the wait too, so that a superseded job costs no rate-limit permit.
    const decision = await this.#decide(run);
    if (decision.superseded) return this.#out.finish(run, 'superseded', { requests: 0 });
    run.params = decision.params;
    run.checkedAt = performance.now();
    let result: ParticipantJobResult | undefined;
    try {
      result = await this.#sendUntilDecided(run, token);
      return result;
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      result = await this.#handOver(run, err);
      return result;
    } finally {
      await this.#afterSend(run, result);
    }
  }

  #decide(run: Run) {
    const { hooks } = this.#o;
    return hooks?.beforeSend
      ? hooks.beforeSend(run.data, run.jobId)
      : Promise.resolve({ superseded: false as const, params: run.data.params });
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

  async #sendUntilDecided(run: Run, token: string | undefined): Promise<ParticipantJobResult> {
    let answer: Answer;
    try {
      answer = await this.#sendWithQuickRetries(run);
    } catch (err) {
      if (err instanceof ShutdownPark) return this.#park(run, token);
      if (err instanceof SupersededAtTry) {
        return this.#out.finish(run, 'superseded', { requests: run.requests });
      }
      if (err instanceof EarlierSendFound) return this.#afterEarlierSend(run, err);
      return this.#answers.conclude(run, err);
    }
    return this.#answers.succeeded(run, answer);
  }

  /** A job that came back to a send record: the outcome it had, or `unsafe-retry`. */
  #afterEarlierSend(run: Run, err: EarlierSendFound): Promise<ParticipantJobResult> {
    if (err.earlier.state === 'sent') {
      return this.#out.finish(run, 'succeeded', {
        requests: run.requests,
        status: err.earlier.status,
      });
    }
    return this.#out.deadLetter(run, 'unsafe-retry', err);
  }

  /**
   * The first try runs on its own, since nearly every try succeeds; p-retry takes over
   * only after a failure worth a quick retry, and is handed that failure as its own first
   * try, so that the retries, their delays and their metrics are those of one p-retry run.
   */
  async #sendWithQuickRetries(run: Run): Promise<Answer> {
    let firstFailure: unknown;
    try {
      return await this.#sendOnce(run);
    } catch (err) {
      if (!isQuickRetryable(err, run.idempotent)) throw err;
      firstFailure = err;
    }
    let tries = 0;
    return withQuickRetries(
      () => (tries++ === 0 ? Promise.reject(firstFailure) : this.#sendOnce(run)),
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
  async #sendOnce(run: Run): Promise<Answer> {
    for (;;) {
      const permission = await this.#gate.pass();
      let ticket: SendTicket | undefined;
      try {
        ticket = await this.#beforeTry(run);
      } catch (err) {
        await this.#gate.unused(permission);
        // No replica holds records now: wait and go back to the gate, consuming no attempt
        // (send-record.ts logs it once per episode).
        if (err instanceof SendRecordNotReplicatedError) {
          await waitFor(COOL_DOWN_MS, this.#o.shutdown);
          continue;
        }
        throw err;
      }
      const started = performance.now();
      run.requests++;
      const permit = permission.permit;
      let answer: Answer;
      try {
        // The limiter times the round trip from the request's write to the connection.
        answer = await this.#request(run.data, run.params, permit && (() => permit.sent()));
      } catch (err) {
        // Never left: its permit goes back. Else the failure, as an answer would, bounds
        // when it arrived.
        if (neverLeft(err)) permit?.giveBack();
        else permit?.answered();
        if (ticket && !mayHaveApplied(err)) await this.#o.sendRecords.giveBack(ticket);
        if (!(await this.#answers.absorb(run, err, started))) throw err;
        continue;
      }
      permit?.answered();
      if (ticket) run.sent = ticket;
      const { meta } = answer;
      this.#answers.answered(meta.status, 'succeeded', started);
      void this.#o.limiter.observe(meta.rateLimit);
      this.#o.limiter.onSuccess();
      // The request succeeded: a failure to tell the circuit must not send it again.
      await this.#o.circuit.recordSuccess().catch((err: unknown) => {
        this.#log.warn({ err, jobId: run.jobId }, 'could not record a success at the circuit');
      });
      return answer;
    }
  }

  /**
   * Right before a try: the newest intent decides, however long the wait was (and the
   * claim is renewed); an announcement takes its send record.
   */
  async #beforeTry(run: Run): Promise<SendTicket | undefined> {
    if (performance.now() - (run.checkedAt ?? -Infinity) > FRESH_CHECK_MS) {
      const decision = await this.#decide(run);
      if (decision.superseded) throw new SupersededAtTry();
      run.params = decision.params;
    }
    // The next try checks again, however soon it comes.
    run.checkedAt = undefined;
    if (run.idempotent) return undefined;
    const taken = await this.#o.sendRecords.take(run.jobId);
    if ('earlier' in taken) throw new EarlierSendFound(taken.earlier);
    return taken.ticket;
  }

  #request(
    data: ParticipantJobData,
    params: UpdateParticipantParams,
    onWritten: (() => void) | undefined,
  ): Promise<Answer> {
    const { client } = this.#o;
    return data.op === 'remove'
      ? client.removeParticipant(data.conferenceSid, data.callSid, { onWritten })
      : client.updateParticipant(data.conferenceSid, data.callSid, params, { onWritten });
  }

  /** Hands a job that was still waiting at shutdown back to the queue, consuming no attempt. */
  async #park(run: Run, token: string | undefined): Promise<never> {
    await run.job.moveToDelayed(Date.now() + (this.#o.parkDelayMs ?? 1000), token);
    throw new DelayedError('handed back to the queue at shutdown');
  }
}

/** Creates the processor of a space's updates queue. */
export function createParticipantProcessor(
  options: PipelineOptions,
): Processor<ParticipantJobData, ParticipantJobResult> {
  return new ParticipantPipeline(options).processor;
}
