/**
 * The processor of a space's updates queue: a participant's own job goes to the participant
 * pipeline as it is; a chunk job (src/jobs/chunk-job.ts) runs each of its participants
 * through that same pipeline, all at once, each with its own identity.
 *
 *   chunk -> members (participant job ids) -> skip those whose outcome the batch recorded
 *         -> pipeline.run(member view) for each, concurrently, each holding one of the
 *            process's participant slots (participant-slots.ts) -> settle the chunk:
 *            every member ended          -> the chunk completes (counts per outcome)
 *            some member was handed back -> the chunk goes back to the queue (no attempt)
 *            some member needs a retry   -> the chunk fails this attempt (BullMQ backoff)
 *
 * A member's view of the chunk is a participant job whose id is the participant's job id
 * and whose attempt count is the chunk's, so everything keyed per participant today (the
 * outcome in the batch, the send record of an announcement, the in-flight claim, the
 * attempt history, the dead letter) stays keyed per participant, and a member dead-letters
 * itself as `exhausted` on the chunk's last attempt exactly as its own job would.
 *
 * Retries stay per participant because a run of a chunk skips the members that ended: one
 * HMGET of the batch's outcomes (the `withOutcome` hook) before the members start. So a
 * chunk that comes back (a BullMQ retry for its one failing member, a stalled chunk after
 * a kill -9, a hand-back at SIGTERM) sends again only for members without an outcome; an
 * announcement whose earlier run left a `sending` record becomes `unsafe-retry` by the
 * send-once rule (send-record.ts), one left `sent` records `succeeded` without a request.
 * Waiting members at shutdown hand the chunk back without consuming an attempt, in-flight
 * ones finish first; a member failing then gets its retry without using an attempt (the
 * rare case of a failure and a shutdown in one run). Without a `withOutcome` hook (a
 * runtime with no batches) a chunk's re-run runs every member again.
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { membersOf, isChunkJob, type ChunkMember } from '../jobs/chunk-job.js';
import type { ParticipantJobData } from '../jobs/participant-job.js';
import type { Logger } from '../logger.js';
import type { ParticipantSlots } from './participant-slots.js';
import type { ParticipantPipeline } from './pipeline.js';
import type { ParticipantJob } from './pipeline-outcomes.js';
import type { JobOutcome, ParticipantJobResult, PipelineHooks } from './types.js';

export interface UpdatesProcessorOptions {
  pipeline: ParticipantPipeline;
  /** Participants in flight in this process (CONFBULK_CONCURRENCY). */
  slots: ParticipantSlots;
  /** Aborted when the worker shuts down: participants waiting for a slot go back. */
  shutdown: AbortSignal;
  /** Which participant job ids of a batch already have an outcome. */
  withOutcome?: PipelineHooks['withOutcome'];
  logger: Logger;
  /** Delay of a chunk handed back at shutdown. @defaultValue 1000 */
  parkDelayMs?: number;
}

/** What a chunk job returns (its completed job's return value). */
export interface ChunkJobResult {
  /** Participants in the chunk. */
  participants: number;
  /** Participants skipped because an earlier run (or job) recorded their outcome. */
  skipped: number;
  /** Terminal outcomes of this run, per outcome. */
  outcomes: Partial<Record<JobOutcome, number>>;
}

/** Some members of a chunk need another attempt; the others ended. */
export class ChunkRetry extends Error {
  constructor(
    readonly retrying: number,
    readonly ran: number,
    readonly first: unknown,
  ) {
    super(
      `${retrying} of ${ran} participants of the chunk need another attempt: ${(first as Error)?.message ?? String(first)}`,
      { cause: first },
    );
    this.name = 'ChunkRetry';
  }
}

type UpdatesJob = Job<unknown, ParticipantJobResult | ChunkJobResult>;

/** A participant that was still waiting for a slot at shutdown. */
const HANDED_BACK = Symbol('handed back');

export class UpdatesProcessor {
  readonly #o: UpdatesProcessorOptions;
  readonly #log: Logger;

  constructor(options: UpdatesProcessorOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'chunk' });
  }

  /** The BullMQ processor of the updates queue. */
  readonly processor = async (
    job: UpdatesJob,
    token?: string,
  ): Promise<ParticipantJobResult | ChunkJobResult> => {
    if (isChunkJob(job.data)) return this.#runChunk(job, token);
    const ended = this.#o.slots.jobStarted(1);
    try {
      const result = await this.#inSlot(() =>
        this.#o.pipeline.run(job as unknown as ParticipantJob, token),
      );
      if (result === HANDED_BACK) return await this.#handBack(job, token);
      return result;
    } finally {
      ended();
    }
  };

  /** Runs `fn` holding a participant slot; HANDED_BACK when shutdown came first. */
  async #inSlot<T>(fn: () => Promise<T>): Promise<T | typeof HANDED_BACK> {
    try {
      await this.#o.slots.acquire(this.#o.shutdown);
    } catch (err) {
      if (this.#o.shutdown.aborted) return HANDED_BACK;
      throw err;
    }
    try {
      return await fn();
    } finally {
      this.#o.slots.release();
    }
  }

  /** Back to the queue without an attempt, for another process (shutdown). */
  async #handBack(job: UpdatesJob, token: string | undefined): Promise<never> {
    await job.moveToDelayed(Date.now() + (this.#o.parkDelayMs ?? 1000), token);
    throw new DelayedError('handed back to the queue at shutdown');
  }

  /**
   * Dead-letters what a job BullMQ failed for good leaves undone: the job itself, or each
   * member of a chunk without an outcome. Idempotent.
   */
  async rescueFailed(job: UpdatesJob, err: Error): Promise<void> {
    if (!isChunkJob(job.data)) {
      await this.#o.pipeline.rescueFailed(job as unknown as ParticipantJob, err);
      return;
    }
    const pending = await this.#pending(this.#members(job));
    for (const member of pending) {
      await this.#o.pipeline.rescueFailed(this.#view(job, member), err);
    }
  }

  #members(job: UpdatesJob): ChunkMember[] {
    try {
      return membersOf(job.data);
    } catch (err) {
      this.#log.error({ err, jobId: job.id }, 'chunk job payload is invalid; nothing sent');
      throw new UnrecoverableError((err as Error).message);
    }
  }

  async #pending(members: ChunkMember[]): Promise<ChunkMember[]> {
    const batchId = members[0]?.data.batchId;
    if (!this.#o.withOutcome || typeof batchId !== 'string') return members;
    const ended = await this.#o.withOutcome(
      batchId,
      members.map((m) => m.jobId),
    );
    return ended.size === 0 ? members : members.filter((m) => !ended.has(m.jobId));
  }

  async #runChunk(job: UpdatesJob, token: string | undefined): Promise<ChunkJobResult> {
    const members = this.#members(job);
    const ended = this.#o.slots.jobStarted(members.length);
    try {
      return await this.#runMembers(job, token, members);
    } finally {
      ended();
    }
  }

  async #runMembers(
    job: UpdatesJob,
    token: string | undefined,
    members: ChunkMember[],
  ): Promise<ChunkJobResult> {
    const pending = await this.#pending(members);
    const settled = await Promise.allSettled(
      pending.map((member) =>
        this.#inSlot(() => this.#o.pipeline.run(this.#view(job, member), token)),
      ),
    );
    const outcomes: ChunkJobResult['outcomes'] = {};
    const retrying: unknown[] = [];
    let handedBack = false;
    for (const result of settled) {
      if (result.status === 'fulfilled') {
        if (result.value === HANDED_BACK) {
          handedBack = true;
          continue;
        }
        const { outcome } = result.value;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      } else if (result.reason instanceof DelayedError) {
        handedBack = true;
      } else {
        retrying.push(result.reason);
      }
    }
    if (handedBack) return this.#handBack(job, token);
    if (retrying.length > 0) throw new ChunkRetry(retrying.length, pending.length, retrying[0]);
    return { participants: members.length, skipped: members.length - pending.length, outcomes };
  }

  /**
   * A member's view of its chunk: the participant's job id and payload, the chunk's attempts.
   * Handing a member back only marks it: the chunk goes back once, when all have settled.
   */
  #view(job: UpdatesJob, member: ChunkMember): ParticipantJob {
    return {
      id: member.jobId,
      data: member.data satisfies ParticipantJobData,
      attemptsMade: job.attemptsMade,
      opts: job.opts,
      moveToDelayed: () => Promise.resolve(),
    };
  }
}
