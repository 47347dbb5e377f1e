/**
 * Enqueueing participant jobs: every job is validated before any is added, jobs are grouped
 * by space (one queue per space, so a paused space never blocks another) and added with
 * `addBulk` in chunks, under deterministic ids so that enqueueing the same work twice is a
 * no-op.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisConnection } from '../queues.js';
import type { RetryConfig } from '../config.js';
import { ValidationError } from '../errors.js';
import { queuePrefix } from '../keys.js';
import { quietQueue, updatesQueueName } from '../queues.js';
import { CONFBULK_BACKOFF } from '../worker/backoff.js';
import { buildChunks, MAX_UPDATES_PER_JOB } from './chunk-job.js';
import {
  parseParticipantJob,
  participantJobId,
  type ParticipantJobData,
} from './participant-job.js';

export interface ParticipantQueuesOptions {
  /** Shared connection; not closed by `close()`. */
  connection: RedisConnection;
  /** BullMQ key prefix (`config.prefix`). */
  prefix: string;
  /** Attempts and backoff of every job (`config.retry`). */
  retry: RetryConfig;
}

export interface AddJobsOptions {
  /** Jobs per `addBulk` call. @defaultValue 1000 */
  chunkSize?: number;
}

export interface AddInChunksOptions extends AddJobsOptions {
  /** Participants per BullMQ job (`config.updatesPerJob`); 1 adds plain participant jobs. */
  perJob: number;
  /** Participant job ids whose outcome is recorded: left out of their chunks. */
  ended?: ReadonlySet<string>;
}

/** Completed jobs are kept an hour (deterministic ids dedupe re-enqueues meanwhile). */
const KEEP_COMPLETED = { age: 3600, count: 100_000 };

/** Job ids are part of Redis keys; BullMQ reserves `:`. */
function checkJobId(id: string, index: number): void {
  if (id.includes(':')) {
    throw new ValidationError(
      `jobs[${index}]: job id '${id}' must not contain ':' (check batchId)`,
      `jobs[${index}].batchId`,
    );
  }
}

/** Replays have ids of their own and are added by `addReplayJob` (from DeadLetters.replay). */
function refuseReplay(job: ParticipantJobData, index: number): void {
  if (job.replayOf !== undefined) {
    throw new ValidationError(
      `jobs[${index}].replayOf: replays are enqueued by DeadLetters.replay, not addJobs`,
      `jobs[${index}].replayOf`,
    );
  }
}

function validateAll(jobs: readonly unknown[]): ParticipantJobData[] {
  return jobs.map((job, index) => {
    try {
      return parseParticipantJob(job);
    } catch (err) {
      if (err instanceof ValidationError) {
        throw new ValidationError(
          `jobs[${index}]: ${err.message}`,
          err.field ? `jobs[${index}].${err.field}` : `jobs[${index}]`,
        );
      }
      throw err;
    }
  });
}

function checkChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new TypeError(`\`chunkSize\` must be a whole number >= 1; got ${chunkSize}`);
  }
}

export class ParticipantQueues {
  readonly #connection: RedisConnection;
  readonly #prefix: string;
  readonly #defaultJobOptions: JobsOptions;
  readonly #queues = new Map<string, Queue>();
  #closing: Promise<void> | undefined;

  constructor(options: ParticipantQueuesOptions) {
    this.#connection = options.connection;
    this.#prefix = options.prefix;
    this.#defaultJobOptions = {
      attempts: options.retry.attempts,
      backoff: { type: CONFBULK_BACKOFF },
      removeOnComplete: KEEP_COMPLETED,
      // Failed jobs are kept: a job fails only when even dead-lettering it failed.
      removeOnFail: false,
    };
  }

  /** The updates queue of `space`, created on first use. */
  queue(space: string): Queue {
    if (this.#closing) throw new Error('ParticipantQueues is closed');
    let queue = this.#queues.get(space);
    if (!queue) {
      const name = updatesQueueName(space);
      queue = quietQueue(
        new Queue(name, {
          connection: this.#connection,
          prefix: queuePrefix(this.#prefix, name),
          defaultJobOptions: this.#defaultJobOptions,
        }),
      );
      this.#queues.set(space, queue);
    }
    return queue;
  }

  /**
   * Validates every job, then adds them all. Nothing is added when any job is invalid.
   * @returns how many jobs were submitted (a job whose id already exists is left as it is).
   * @throws ValidationError naming the first invalid job (`jobs[3].params.HoldUrl: ...`).
   */
  async addJobs(jobs: readonly ParticipantJobData[], opts: AddJobsOptions = {}): Promise<number> {
    return (await this.addJobsWithIds(jobs, opts)).length;
  }

  /** Like `addJobs`, and returns the job ids in the order of `jobs`. */
  async addJobsWithIds(
    jobs: readonly ParticipantJobData[],
    opts: AddJobsOptions = {},
  ): Promise<string[]> {
    const chunkSize = opts.chunkSize ?? 1000;
    checkChunkSize(chunkSize);
    const valid = validateAll(jobs);
    valid.forEach(refuseReplay);
    const ids = valid.map((job) => participantJobId(job.batchId, job.callSid));
    ids.forEach(checkJobId);
    await this.#addBySpace(
      valid.map((data, i) => ({ name: data.op, data, opts: { jobId: ids[i] } })),
      chunkSize,
    );
    return ids;
  }

  /** Adds jobs to the queue of their space, `chunkSize` per `addBulk`. */
  async #addBySpace(
    jobs: readonly { name: string; data: { space: string }; opts: JobsOptions }[],
    chunkSize: number,
  ): Promise<void> {
    const bySpace = new Map<string, (typeof jobs)[number][]>();
    for (const job of jobs) {
      const list = bySpace.get(job.data.space) ?? [];
      list.push(job);
      bySpace.set(job.data.space, list);
    }
    for (const [space, list] of bySpace) {
      const queue = this.queue(space);
      for (let i = 0; i < list.length; i += chunkSize) {
        await queue.addBulk(list.slice(i, i + chunkSize));
      }
    }
  }

  /**
   * Validates every job, then adds them in chunks of up to `perJob` participants of the same
   * request (src/jobs/chunk-job.ts): each participant keeps its job id as the key of its
   * outcome. Nothing is added when any job is invalid.
   * @returns how many BullMQ jobs were submitted.
   */
  async addInChunks(
    jobs: readonly ParticipantJobData[],
    opts: AddInChunksOptions,
  ): Promise<number> {
    const { perJob } = opts;
    if (!Number.isInteger(perJob) || perJob < 1 || perJob > MAX_UPDATES_PER_JOB) {
      throw new TypeError(
        `\`perJob\` must be a whole number from 1 to ${MAX_UPDATES_PER_JOB}; got ${perJob}`,
      );
    }
    const chunkSize = opts.chunkSize ?? 1000;
    checkChunkSize(chunkSize);
    const valid = validateAll(jobs);
    valid.forEach(refuseReplay);
    valid.forEach((job, i) => checkJobId(participantJobId(job.batchId, job.callSid), i));
    const chunks = buildChunks(valid, perJob, opts.ended);
    await this.#addBySpace(chunks, chunkSize);
    return chunks.length;
  }

  /**
   * Adds one dead-letter replay under `id` (see dead-letters/replay.ts). A second add of
   * the same id is a no-op while that job exists.
   * @throws ValidationError naming the field, before anything is added.
   */
  async addReplayJob(job: ParticipantJobData, id: string): Promise<void> {
    const [valid] = validateAll([job]);
    if (!valid?.replayOf) {
      throw new ValidationError(
        'jobs[0].replayOf: a replay names the job it replays',
        'jobs[0].replayOf',
      );
    }
    checkJobId(id, 0);
    await this.queue(valid.space).add(valid.op, valid, { jobId: id });
  }

  /** Closes every queue opened (not the shared connection). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const results = await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    })();
    return this.#closing;
  }
}
