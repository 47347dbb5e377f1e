/**
 * Participants in flight per process and space. `CONFBULK_CONCURRENCY` counts updates, and
 * a BullMQ job carries one participant or a chunk of up to `updatesPerJob` of them, so the
 * BullMQ worker's own concurrency (jobs) cannot be the bound. Two parts:
 *
 * - Slots: a participant takes one before it enters the pipeline and gives it back when its
 *   run ends, so at most `capacity` run at once (own jobs and chunk members alike). Waiting
 *   for a slot is like waiting at the gate: at shutdown the wait ends and the job goes back
 *   to the queue without an attempt.
 * - Jobs to hold: BullMQ fetches up to its concurrency in jobs before it runs any, so that
 *   number follows what the slots can serve: the jobs active now, plus as many full chunks
 *   as would fill the slots not yet held and one chunk more (waiting for slots, so that the
 *   next chunk is at hand when the last one's members finish). A process thus takes about
 *   `capacity / updatesPerJob + 1` chunks at a time and leaves the rest to other processes,
 *   and still runs `capacity` single-participant jobs at once.
 */
import { Waiters } from './waiters.js';

export class ParticipantSlots {
  readonly #capacity: number;
  readonly #perJob: number;
  readonly #waiters = new Waiters<void>();
  /** Slots taken by participants running now. */
  #running = 0;
  /** Jobs being processed, and the participants they carry. */
  #jobs = 0;
  #held = 0;
  /** Told the number of jobs to hold whenever it changes (the BullMQ worker's concurrency). */
  onJobsToHold: ((jobs: number) => void) | undefined;

  constructor(capacity: number, perJob: number) {
    this.#capacity = Math.max(1, capacity);
    this.#perJob = Math.max(1, perJob);
  }

  /** How many jobs the BullMQ worker should hold now. */
  jobsToHold(): number {
    // Room for the slots plus one full chunk waiting, so the next chunk is at hand when
    // the members of the last one finish (no round trip to fetch it in between).
    const room = this.#capacity + this.#perJob - this.#held;
    return this.#jobs + Math.max(0, Math.floor(room / this.#perJob));
  }

  /** A job carrying `participants` started; returns what ends it (call once). */
  jobStarted(participants: number): () => void {
    this.#jobs++;
    this.#held += participants;
    this.#changed();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#jobs--;
      this.#held -= participants;
      this.#changed();
    };
  }

  /**
   * Resolves once the caller holds a slot; rejects with the signal's reason when it is
   * aborted first (shutdown).
   */
  async acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    if (this.#running < this.#capacity) {
      this.#running++;
      return;
    }
    // A slot given back is handed to the oldest waiter directly (the count stays).
    await this.#waiters.wait(signal);
  }

  release(): void {
    if (!this.#waiters.resolveFirst(undefined)) this.#running--;
  }

  #changed(): void {
    this.onJobsToHold?.(Math.max(1, this.jobsToHold()));
  }
}
