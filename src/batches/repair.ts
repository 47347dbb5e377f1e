/**
 * Batches whose jobs a Redis failover lost. Replication is asynchronous: a primary that
 * dies can take with it the jobs it had acknowledged and not yet passed on (seen here in the
 * cluster failover test: the space's updates queue empty on the promoted replica, while the
 * batch's bookkeeping, on another shard, still counted 930 participants pending). Nothing
 * would ever run them, and the batch would wait for ever.
 *
 * On the completion sweeper's timer, each worker looks at the newest batches: a running
 * batch (its listing done) with participants pending, whose counts have not moved for
 * `quietMs`, while its space's updates queue holds no job at all (none waiting, running,
 * or delayed: so none of this batch can be anywhere), has lost its jobs. They are
 * queued again from the batch's record and its members that have no outcome (the members
 * set outlives the listing by MEMBERS_TTL_MS for this: batch-scripts.ts), in sorted
 * order, so that workers repairing at the same moment build the same chunk ids and BullMQ
 * keeps one. One warning per repair. A job of a participant that already ran is guarded as
 * on any re-run: its outcome is recorded once, an announcement plays at most once (its send
 * record), an idempotent update may be sent again (at least once).
 */
import type { ParticipantQueues } from '../jobs/enqueue.js';
import { participantJobsOf } from '../jobs/participant-job.js';
import type { Logger } from '../logger.js';
import type { Batch } from '../types.js';
import type { BatchStore } from './store.js';

/** Batches looked at per sweep, newest first. */
const SCAN_LIMIT = 200;

export interface LostJobsRepairOptions {
  batches: BatchStore;
  queues: ParticipantQueues;
  logger: Logger;
  /** Participants per BullMQ job (`config.updatesPerJob`). */
  updatesPerJob: number;
  /** Spaces this process serves (it repairs only those). */
  serves: (space: string) => boolean;
  /** How long a batch's counts stay still, its queue empty, before it is repaired. @defaultValue 20000 */
  quietMs?: number;
}

export class LostJobsRepair {
  readonly #o: LostJobsRepairOptions;
  /** Pending count of each running batch when it was last seen to change, and since when. */
  #still = new Map<string, { pending: number; since: number }>();

  constructor(options: LostJobsRepairOptions) {
    this.#o = options;
  }

  /** One look at the newest batches; repairs those that lost their jobs. */
  async sweep(): Promise<void> {
    const now = Date.now();
    const quietMs = this.#o.quietMs ?? 20_000;
    const next = new Map<string, { pending: number; since: number }>();
    const running = (await this.#o.batches.list(SCAN_LIMIT)).filter(
      (b) =>
        b.state === 'running' &&
        b.counts.pending > 0 &&
        b.conferenceSid !== undefined &&
        this.#o.serves(b.space),
    );
    for (const batch of running) {
      const seen = this.#still.get(batch.id);
      const still =
        seen && seen.pending === batch.counts.pending
          ? seen
          : { pending: batch.counts.pending, since: now };
      next.set(batch.id, still);
      if (now - still.since < quietMs || !(await this.#queueEmpty(batch.space))) continue;
      const requeued = await this.#requeue(batch);
      // Another quiet period before this batch is looked at again.
      next.set(batch.id, { pending: batch.counts.pending, since: now });
      if (requeued > 0) {
        this.#o.logger.warn(
          {
            batchId: batch.id,
            space: batch.space,
            participants: requeued,
            stillForMs: now - still.since,
          },
          'batch participants pending with no job left in their queue (a Redis failover lost them): queued again',
        );
      }
    }
    this.#still = next;
  }

  async #queueEmpty(space: string): Promise<boolean> {
    const counts = await this.#o.queues
      .queue(space)
      .getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
    return Object.values(counts).every((n) => n === 0);
  }

  async #requeue(batch: Batch): Promise<number> {
    const pending = (await this.#o.batches.pendingMembers(batch.id)).sort();
    if (pending.length === 0) return 0;
    const jobs = participantJobsOf(batch, batch.conferenceSid as string, pending);
    await this.#o.queues.addInChunks(jobs, { perJob: this.#o.updatesPerJob });
    return pending.length;
  }
}
