/**
 * The dead-letter queue: a BullMQ queue that no worker consumes, so every entry stays in its
 * wait list (and shows in the dashboard) until it is replayed or purged. One entry per
 * participant job id, so dead-lettering the same job twice (a crash between writing the
 * entry and completing the job) leaves one entry. Replays enqueue one job per entry
 * (replay.ts); ids given as input are checked before Redis is asked.
 */
import { hostname } from 'node:os';
import { Queue, type Job } from 'bullmq';
import type { RedisConnection } from '../queues.js';
import { ValidationError } from '../errors.js';
import type { ParticipantQueues } from '../jobs/enqueue.js';
import { parseParticipantJob, type ParticipantJobData } from '../jobs/participant-job.js';
import { QUEUE_NAMES, quietQueue } from '../queues.js';
import { checkDeadLetterId, Replays } from './replay.js';
import { removeDeadLetterScript } from './replay-scripts.js';
import type { UpdateParticipantParams } from '../signalwire/types.js';
import type {
  DeadLetterEntry,
  ListDeadLettersOptions,
  NewDeadLetter,
  PurgeOptions,
  ReplayOptions,
  ReplayResult,
} from './types.js';
import { queuePrefix } from '../keys.js';

export interface DeadLettersOptions {
  /** Shared connection; not closed by `close()`. */
  connection: RedisConnection;
  /** BullMQ key prefix (`config.prefix`). */
  prefix: string;
  /** Where replays are enqueued; `replay()` needs it. */
  queues?: ParticipantQueues;
}

/** `hostname:pid` of this process, recorded on every entry it writes. */
export const WORKER_IDENTITY = `${hostname()}:${process.pid}`;

/** A replay taken this long ago and still in the outbox was left by a process that stopped. */
const PENDING_REPLAY_GRACE_MS = 10_000;

/** Entries are read in pages of this size when listing or replaying everything. */
const PAGE = 500;

/** Lists an entry can be in: `wait`, or `paused` if someone paused the queue from a dashboard. */
const ENTRY_LISTS = ['wait', 'paused'] as const;

function definedOnly(set: Partial<UpdateParticipantParams>): Partial<UpdateParticipantParams> {
  return Object.fromEntries(Object.entries(set).filter(([, v]) => v !== undefined));
}

/** Whether an entry is of the batch, space and spaces asked for (each optional). */
function entryFilter(
  filter: Pick<ListDeadLettersOptions, 'batchId' | 'space' | 'spaces'>,
): (e: DeadLetterEntry) => boolean {
  return (e) =>
    (filter.batchId === undefined || e.job?.batchId === filter.batchId) &&
    (filter.space === undefined || e.job?.space === filter.space) &&
    inSpaces(e, filter.spaces);
}

function inSpaces(entry: DeadLetterEntry, spaces: readonly string[] | undefined): boolean {
  return spaces === undefined || spaces.includes(entry.job?.space ?? '');
}

/**
 * The ids a replay names, checked (undefined for `all`), before anything is asked of Redis.
 * @throws ValidationError naming the field
 */
function checkSelection(options: ReplayOptions): string[] | undefined {
  if (options.all) return undefined;
  if (!options.ids || options.ids.length === 0) {
    throw new ValidationError('replay needs `ids` (dead-letter ids) or `all: true`', 'ids');
  }
  return options.ids.map((id, i) => checkDeadLetterId(id, `ids[${i}]`));
}

export class DeadLetters {
  readonly queue: Queue<DeadLetterEntry>;
  readonly #connection: RedisConnection;
  readonly #replays: Replays | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: DeadLettersOptions) {
    this.queue = quietQueue(
      new Queue<DeadLetterEntry>(QUEUE_NAMES.deadLetters, {
        connection: options.connection,
        prefix: queuePrefix(options.prefix, QUEUE_NAMES.deadLetters),
      }),
    );
    this.#connection = options.connection;
    this.#replays =
      options.queues && new Replays(options.connection, options.prefix, this.queue, options.queues);
  }

  /**
   * Stores a dead letter under the job's id. A no-op when one is already stored for that
   * job id (the first one is kept).
   * @returns the entry's id.
   */
  async add(entry: NewDeadLetter): Promise<string> {
    const full: DeadLetterEntry = {
      ...entry,
      id: entry.jobId,
      worker: entry.worker ?? WORKER_IDENTITY,
      deadLetteredAt: entry.deadLetteredAt ?? new Date().toISOString(),
    };
    await this.queue.add(full.reason, full, { jobId: full.id });
    return full.id;
  }

  /** Entries newest first, optionally of one batch or space. */
  async list(options: ListDeadLettersOptions = {}): Promise<DeadLetterEntry[]> {
    const limit = options.limit ?? 50;
    const offset = options.offset ?? 0;
    const matches = entryFilter(options);
    const found: DeadLetterEntry[] = [];
    let skipped = 0;
    for await (const entry of this.#entries()) {
      if (!matches(entry)) continue;
      if (skipped < offset) {
        skipped++;
        continue;
      }
      found.push(entry);
      if (found.length >= limit) break;
    }
    return found;
  }

  /**
   * How many entries there are, of one batch, space or list of spaces when `filter` says so
   * (a filtered count reads every entry).
   */
  async count(
    filter: Pick<ListDeadLettersOptions, 'batchId' | 'space' | 'spaces'> = {},
  ): Promise<number> {
    if (filter.batchId === undefined && filter.space === undefined && !filter.spaces) {
      // `waiting` counts the paused list too when the queue is paused.
      return this.queue.getJobCountByTypes('waiting');
    }
    const matches = entryFilter(filter);
    let n = 0;
    for await (const entry of this.#entries()) if (matches(entry)) n++;
    return n;
  }

  /** @throws ValidationError when `id` does not have the form of a dead-letter id. */
  async get(id: string): Promise<DeadLetterEntry | undefined> {
    const job = await this.queue.getJob(checkDeadLetterId(id));
    return job ? this.#entryOf(job) : undefined;
  }

  /**
   * Re-enqueues dead letters as new jobs with `set` merged into their parameters, each
   * entry taken and its job enqueued as one step (replay.ts): however many replays of an
   * entry run at once, one job is enqueued, under the id `<original job id>.r<n>`. The job
   * counts against the original participant (`replayOf`), which is pending in its batch
   * until the replay ends. Every job is validated first: nothing is enqueued or removed when
   * one is invalid or an id is unknown.
   * @throws ValidationError naming the entry and the field.
   */
  async replay(options: ReplayOptions): Promise<ReplayResult> {
    if (!this.#replays)
      throw new Error('DeadLetters was created without `queues`; replay() needs them to enqueue');
    const ids = checkSelection(options);
    await this.#replays.finishPending(PENDING_REPLAY_GRACE_MS);
    const entries = await this.#select(ids, options.spaces);
    const set = definedOnly(options.set ?? {});
    const jobs = entries.map((entry) => this.#replayJob(entry, set));
    const jobIds: string[] = [];
    const taken: string[] = [];
    for (const [i, entry] of entries.entries()) {
      const id = await this.#replays.replay(entry, jobs[i] as ParticipantJobData);
      if (id === undefined) taken.push(entry.id);
      else jobIds.push(id);
    }
    return { replayed: jobIds.length, jobIds, ...(taken.length > 0 && { alreadyTaken: taken }) };
  }

  /**
   * Enqueues replays whose process stopped between taking an entry and enqueueing its job
   * (workers call it periodically; `replay()` does too).
   * @returns how many were settled.
   */
  async finishPendingReplays(olderThanMs = PENDING_REPLAY_GRACE_MS): Promise<number> {
    return this.#replays ? this.#replays.finishPending(olderThanMs) : 0;
  }

  /** Removes the given entries, or all of them. @returns how many were removed. */
  async purge(options: PurgeOptions): Promise<number> {
    if ('all' in options && options.all && options.spaces) {
      return this.#removeIds((await this.#select(undefined, options.spaces)).map((e) => e.id));
    }
    if ('all' in options && options.all) {
      let removed = 0;
      for (const list of ENTRY_LISTS) removed += (await this.queue.clean(0, 0, list)).length;
      return removed;
    }
    if (!('ids' in options) || !Array.isArray(options.ids)) {
      throw new ValidationError(
        'purge needs `ids` (an array of dead-letter ids) or `all: true`',
        'ids',
      );
    }
    const ids = options.ids.map((id, i) => checkDeadLetterId(id, `ids[${i}]`));
    return this.#removeIds(ids);
  }

  /** Closes the queue (not the shared connection). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.queue.close();
    return this.#closing;
  }

  /**
   * The entries named, or all of them (of `spaces`, when given) for `undefined`.
   * @throws ValidationError for an unknown id
   */
  async #select(
    ids: readonly string[] | undefined,
    spaces?: readonly string[],
  ): Promise<DeadLetterEntry[]> {
    if (ids === undefined) {
      const all: DeadLetterEntry[] = [];
      for await (const entry of this.#entries()) {
        if (inSpaces(entry, spaces)) all.push(entry);
      }
      return all;
    }
    const found = await Promise.all(ids.map((id) => this.get(id)));
    const missing = ids.filter((_, i) => found[i] === undefined);
    if (missing.length > 0) {
      throw new ValidationError(`unknown dead-letter id(s): ${missing.join(', ')}`, 'ids');
    }
    return found as DeadLetterEntry[];
  }

  #replayJob(entry: DeadLetterEntry, set: Partial<UpdateParticipantParams>): ParticipantJobData {
    const candidate = {
      ...entry.job,
      params: { ...(entry.job?.params ?? {}), ...set },
      // A replay of a replay counts against the participant's first job too.
      replayOf: entry.job?.replayOf ?? entry.jobId,
    };
    try {
      return parseParticipantJob(candidate);
    } catch (err) {
      if (err instanceof ValidationError) {
        throw new ValidationError(
          `dead letter '${entry.id}' cannot be replayed: ${err.message}`,
          err.field,
        );
      }
      throw err;
    }
  }

  async #removeIds(ids: readonly string[]): Promise<number> {
    let removed = 0;
    const { wait, paused } = this.queue.keys;
    for (const id of new Set(ids)) {
      const entryKey = this.queue.toKey(id);
      const reply = await removeDeadLetterScript.run(
        this.#connection,
        [wait ?? '', paused ?? '', entryKey, `${entryKey}:logs`],
        [id],
      );
      removed += Number(reply);
    }
    return removed;
  }

  #entryOf(job: Job<DeadLetterEntry>): DeadLetterEntry {
    return { ...job.data, id: job.id ?? job.data.id };
  }

  async *#entries(): AsyncGenerator<DeadLetterEntry> {
    for (let start = 0; ; start += PAGE) {
      const jobs = await this.queue.getJobs(['waiting'], start, start + PAGE - 1);
      for (const job of jobs) if (job) yield this.#entryOf(job);
      if (jobs.length < PAGE) return;
    }
  }
}
