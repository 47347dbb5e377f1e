/**
 * The fan-out job of a batch: resolve the conference, list its participants (or take the
 * explicit list), leave out `except`, record intents and enqueue the participants' jobs,
 * a page at a time: one job per participant, or one per `updatesPerJob` participants
 * (src/jobs/chunk-job.ts). A re-run after a crash adds nothing twice: members are a set
 * (the total is its size), job and chunk ids are deterministic, and a participant whose
 * outcome the batch already recorded is not enqueued again (its job may have been trimmed
 * from the completed set).
 * Transient listing failures are retried by BullMQ; a conference that does not exist fails
 * the batch at once.
 */
import { DelayedError, UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import { ConfbulkError, ValidationError } from '../errors.js';
import type { ParticipantQueues } from '../jobs/enqueue.js';
import { participantJobId, participantJobsOf } from '../jobs/participant-job.js';
import type { Logger } from '../logger.js';
import type { ParticipantsApi } from '../signalwire/api.js';
import { isSignalWireError } from '../signalwire/errors.js';
import type { BatchStore } from '../batches/store.js';
import type { CompletionNotifier } from '../batches/completion.js';
import { intentFieldsOf } from '../intents/intents.js';
import type { Batch } from '../types.js';
import type { ListingNote } from '../batches/reason/explain.js';
import { ambiguousName, conferencesNamed, countCandidates } from './conference-name.js';

export interface FanoutJobData {
  batchId: string;
}

export interface FanoutResult {
  batchId: string;
  state: Batch['state'];
  total: number;
  /** Wall time of this run in ms. */
  ms: number;
}

/** Listing is retried for about 4 minutes of outage before the batch fails. */
export const FANOUT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Queues the fan-out of a batch (job id = batch id: queuing it twice is a no-op). */
export async function enqueueFanout(queue: Queue, batchId: string): Promise<void> {
  await queue.add('fanout', { batchId } satisfies FanoutJobData, {
    ...FANOUT_JOB_OPTIONS,
    jobId: batchId,
  });
}

/** A reason the batch cannot run at all; retrying cannot help. */
export class ListingFailure extends ConfbulkError {}

export interface FanoutOptions {
  batches: BatchStore;
  queues: ParticipantQueues;
  /** The API client of a space profile. */
  api: (space: string) => ParticipantsApi;
  notifier: CompletionNotifier;
  logger: Logger;
  /** Participants per chunk (members, intents and `addBulk`). @defaultValue 1000 */
  chunkSize?: number;
  /**
   * Participants per BullMQ job (`config.updatesPerJob`, src/jobs/chunk-job.ts).
   * @defaultValue 1
   */
  updatesPerJob?: number;
  /**
   * Whether this process has the profile of a space. A fan-out of another space goes back
   * to the queue for `handBackMs`, for a worker that has it; the batch's reason says when
   * none does. @defaultValue every space
   */
  serves?: (space: string) => boolean;
  /** @defaultValue 2000 */
  handBackMs?: number;
  /** Records a failed listing attempt on the batch, for its reason. */
  noteListingError?: (batchId: string, note: Omit<ListingNote, 'since'>) => Promise<void>;
}

/** The SID of the conference a batch targets; a ListingFailure when there is none. */
async function resolveConference(api: ParticipantsApi, batch: Batch): Promise<string> {
  const { conferenceSid, conferenceName } = batch.target;
  if (conferenceSid) {
    try {
      const conference = await api.getConference(conferenceSid);
      if (conference.status === 'completed') {
        throw new ListingFailure(
          `conference ${conferenceSid} in space ${batch.space} has already ended`,
        );
      }
      return conferenceSid;
    } catch (err) {
      if (isSignalWireError(err) && err.kind === 'gone') {
        throw new ListingFailure(`conference ${conferenceSid} not found in space ${batch.space}`);
      }
      throw err;
    }
  }
  const found = await conferencesNamed(api, conferenceName ?? '');
  const newest = found[0];
  if (!newest) {
    throw new ListingFailure(
      `no in-progress conference named '${conferenceName}' in space ${batch.space}`,
    );
  }
  if (found.length > 1 && !batch.target.newest) {
    // Checked at submission too; here for schedules and conferences started since.
    const candidates = await countCandidates(api, found);
    throw new ListingFailure(ambiguousName(conferenceName ?? '', batch.space, candidates).message);
  }
  return newest.sid;
}

/**
 * Size of the first page listed by a fan-out. Small, because everything on it is written
 * (members, intents, jobs: about 0.2 ms per participant on a warm worker, several times
 * that on a cold one) before its first job can be taken, while a smaller page makes the
 * round trip of its listing no longer.
 */
const FIRST_PAGE_SIZE = 20;

/** Pages of call SIDs: the explicit list, or the API's list with the batch's filters. */
async function* callSidPages(
  api: ParticipantsApi,
  batch: Batch,
  conferenceSid: string,
  chunkSize: number,
): AsyncGenerator<string[]> {
  const { callSids, filter } = batch.target;
  if (callSids) {
    for (let i = 0; i < callSids.length; i += chunkSize) yield callSids.slice(i, i + chunkSize);
    return;
  }
  // A small first page: its updates start while the rest is listed (the first POST comes
  // a page of 20 after the fan-out starts, not a page of 1000).
  const pageSize = Math.min(1000, chunkSize);
  const pages = api.listParticipantPages(conferenceSid, {
    pageSize,
    firstPageSize: Math.min(FIRST_PAGE_SIZE, pageSize),
    ...filter,
  });
  for await (const page of pages) yield page.map((p) => p.call_sid);
}

/**
 * Fetches the next page while the current one is being enqueued. `first` is the source's
 * first page when it was asked for already (see openListing).
 */
async function* prefetched<T>(
  source: AsyncGenerator<T>,
  first?: Promise<IteratorResult<T>>,
): AsyncGenerator<T> {
  let next = first ?? source.next();
  try {
    for (;;) {
      const current = await next;
      if (current.done) return;
      next = source.next();
      next.catch(() => {}); // awaited on the next turn; this only avoids an unhandled rejection meanwhile
      yield current.value;
    }
  } finally {
    await source.return(undefined).catch(() => {});
  }
}

/**
 * The conference's SID and its pages of call SIDs. A conference given by SID is checked
 * while its first page is listed (the listing needs only the SID): the first page comes a
 * round trip after the fan-out starts, not two. Nothing of the listing is used before the
 * check passed, so a conference that ended or does not exist still fails the batch with
 * no job. A conference given by name is found first.
 */
async function openListing(
  api: ParticipantsApi,
  batch: Batch,
  chunkSize: number,
): Promise<{ conferenceSid: string; pages: AsyncGenerator<string[]> }> {
  const { conferenceSid, callSids } = batch.target;
  if (!conferenceSid || callSids) {
    const resolved = await resolveConference(api, batch);
    return {
      conferenceSid: resolved,
      pages: prefetched(callSidPages(api, batch, resolved, chunkSize)),
    };
  }
  const source = callSidPages(api, batch, conferenceSid, chunkSize);
  const first = source.next();
  first.catch(() => {}); // awaited after the check; a failed check ignores it
  try {
    await resolveConference(api, batch);
  } catch (err) {
    void source.return(undefined).catch(() => {});
    throw err;
  }
  return { conferenceSid, pages: prefetched(source, first) };
}

/** Failures no retry can fix: a missing conference, a refused request, a bad configuration. */
function isPermanent(err: unknown): boolean {
  const ours = [ListingFailure, ValidationError, UnrecoverableError].some((c) => err instanceof c);
  return ours || (isSignalWireError(err) && (err.kind === 'gone' || err.kind === 'invalid'));
}

/** A listing error in one line: the API's answer, or the transport's failure and its cause. */
function listingErrorMessage(err: unknown): string {
  const error = err as Error & { cause?: unknown };
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}

function reasonOf(err: unknown, batch: Batch): string {
  if (err instanceof ListingFailure) return err.message;
  if (isSignalWireError(err) && err.kind === 'gone') {
    const sid = batch.conferenceSid ?? batch.target.conferenceSid;
    return `conference ${sid} not found in space ${batch.space}`;
  }
  return `listing participants failed: ${(err as Error).message}`;
}

export class Fanout {
  readonly #o: FanoutOptions;
  readonly #chunkSize: number;

  constructor(options: FanoutOptions) {
    this.#o = options;
    this.#chunkSize = options.chunkSize ?? 1000;
  }

  /** The fan-out queue's processor. */
  readonly processor = async (job: Job<FanoutJobData>, token?: string): Promise<FanoutResult> => {
    const started = Date.now();
    const batch = await this.#o.batches.get(job.data.batchId);
    if (!batch) throw new UnrecoverableError(`batch ${job.data.batchId} does not exist (expired?)`);
    if (batch.state !== 'listing') {
      return { batchId: batch.id, state: batch.state, total: batch.counts.total, ms: 0 };
    }
    if (this.#o.serves && !this.#o.serves(batch.space)) {
      // Not ours: back to the queue (not an attempt) for a worker with the space's profile.
      this.#o.logger.debug(
        { batchId: batch.id, space: batch.space },
        'fan-out of a space this worker has no profile for; handed back',
      );
      await job.moveToDelayed(Date.now() + (this.#o.handBackMs ?? 2000), token);
      throw new DelayedError();
    }
    try {
      await this.#run(batch);
    } catch (err) {
      const attempt = job.attemptsMade + 1;
      const attempts = job.opts.attempts ?? 1;
      if (!isPermanent(err) && attempt < attempts) {
        const message = listingErrorMessage(err);
        this.#o.logger.warn(
          { err: message, batchId: batch.id, space: batch.space, attempt, attempts },
          'listing participants failed; the fan-out will be retried',
        );
        await this.#o
          .noteListingError?.(batch.id, { message, at: Date.now(), attempt, attempts })
          .catch(() => {});
        throw err;
      }
      await this.#fail(batch, reasonOf(err, batch));
    }
    const after = await this.#o.batches.get(batch.id);
    const result = {
      batchId: batch.id,
      state: after?.state ?? 'failed',
      total: after?.counts.total ?? 0,
      ms: Date.now() - started,
    };
    this.#o.logger.info(result, 'fan-out done');
    return result;
  };

  async #run(batch: Batch): Promise<void> {
    const api = this.#o.api(batch.space);
    // A conference given by SID is known already: the batch is marked started while it is
    // checked (a batch that then fails keeps the time its fan-out started).
    const given = batch.target.conferenceSid;
    const marked = given === undefined ? undefined : this.#o.batches.markStarted(batch.id, given);
    marked?.catch(() => {}); // awaited below, unless the check failed first
    const { conferenceSid, pages } = await openListing(api, batch, this.#chunkSize);
    const resolved: Batch = { ...batch, conferenceSid };
    await (marked ?? this.#o.batches.markStarted(batch.id, conferenceSid));
    if (batch.target.conferenceName) {
      await this.#o.batches.recordConferenceIntent(resolved, conferenceSid);
    }
    const excluded = new Set(batch.target.except ?? []);
    // A coach is never asked to coach their own call.
    if (batch.params.CallSidToCoach) excluded.add(batch.params.CallSidToCoach);
    for await (const page of pages) {
      const kept = page.filter((sid) => !excluded.has(sid));
      if (!(await this.#enqueueChunk(resolved, conferenceSid, kept))) return;
    }
    const { completed } = await this.#o.batches.finishListing(batch.id);
    if (completed) await this.#o.notifier.notifySafely(batch.id);
  }

  /** Members and intents first, jobs second: a job never runs before it is counted. */
  async #enqueueChunk(batch: Batch, conferenceSid: string, callSids: string[]): Promise<boolean> {
    if (callSids.length === 0) return true;
    // A re-run after a crash: jobs that already ended may have been trimmed from the
    // completed set, and their ids would be free again. Read while the members are added.
    const [total, ended] = await Promise.all([
      this.#o.batches.addMembers(batch, conferenceSid, intentFieldsOf(batch.params), callSids),
      this.#o.batches.withOutcome(
        batch.id,
        callSids.map((callSid) => participantJobId(batch.id, callSid)),
      ),
    ]);
    if (total < 0) return false;
    const jobs = participantJobsOf(batch, conferenceSid, callSids);
    // Chunks are cut from every listed participant, so that a re-run builds the same ones
    // (same ids); those that ended are left out of their payloads.
    await this.#o.queues.addInChunks(jobs, {
      chunkSize: this.#chunkSize,
      perJob: this.#o.updatesPerJob ?? 1,
      ended,
    });
    return true;
  }

  async #fail(batch: Batch, reason: string): Promise<void> {
    const fresh = (await this.#o.batches.get(batch.id)) ?? batch;
    if (await this.#o.batches.fail(fresh, reason)) {
      this.#o.logger.warn({ batchId: batch.id, reason }, 'batch failed');
      await this.#o.notifier.notifySafely(batch.id);
    }
  }
}
