/**
 * A guard against a BullMQ worker whose fetch loop stopped fetching. After some Redis
 * failovers (seen here on Redis Cluster, about one run in six of
 * test/cluster/schedule-failover.test.ts; reported upstream for Sentinel and ElastiCache:
 * taskforcesh/bullmq#2466, #3088, #3185) a worker stays "running" and connected, logs
 * nothing, and never takes a job again: its blocking wait for jobs never returns, even
 * when the job is promoted or its blocking connection reset. A per-second schedule then
 * stops for good, and so would an idle space's updates.
 *
 * The guard looks at the worker's queue through the shared connection every `checkMs`: a
 * job that is due (waiting, or delayed past its time) while the worker has room for it and
 * has started nothing since it was first seen due, for `stuckMs`, means the loop is stuck.
 * The guard then starts a fresh worker for the queue (same processor and options) and
 * closes the stuck one in the background: its jobs in flight, if any, finish or come back
 * as stalled, as after a crash. One warning per restart. A paused worker is left alone.
 */
import { Queue, Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';
import type { Logger } from '../logger.js';
import type { RedisConnection } from '../queues.js';

/** How long `close()` waits for replaced (stuck) workers to close. */
const RETIRING_CLOSE_MS = 1000;

export interface StuckGuardOptions {
  /** How often the queue is looked at (ms). @defaultValue 5000 */
  checkMs?: number;
  /** How long a due job may wait for a worker with room before it counts as stuck (ms). @defaultValue 20000 */
  stuckMs?: number;
}

/** A BullMQ worker that is started again when its fetch loop is stuck. */
export class GuardedWorker {
  #worker: Worker;
  readonly #queue: Queue;
  readonly #timer: NodeJS.Timeout;
  readonly #checkMs: number;
  readonly #stuckMs: number;
  #inFlight = 0;
  #started = 0;
  /** When a due job was first seen, and how many jobs this worker had started by then. */
  #due: { since: number; started: number } | undefined;
  #checking = false;
  #closed = false;
  /** The shared connection the queue is looked at through. */
  private readonly connection: RedisConnection;
  /** Workers replaced while stuck, still closing. */
  readonly #retiring = new Set<Worker>();
  /** The processor, counting the jobs it has in flight and has started. */
  private readonly processor: Processor;
  restarts = 0;

  constructor(
    readonly queueName: string,
    processor: Processor,
    private readonly options: WorkerOptions,
    /** Attaches the listeners every incarnation of the worker needs. */
    private readonly wire: (worker: Worker) => void,
    private readonly log: Logger,
    guard: StuckGuardOptions = {},
  ) {
    this.#checkMs = guard.checkMs ?? 5000;
    this.#stuckMs = guard.stuckMs ?? 20_000;
    this.processor = async (job: Job, token?: string) => {
      this.#inFlight += 1;
      this.#started += 1;
      try {
        return (await processor(job, token)) as unknown;
      } finally {
        this.#inFlight -= 1;
      }
    };
    this.#worker = this.#start();
    this.connection = options.connection as RedisConnection;
    this.#queue = new Queue(queueName, {
      connection: options.connection,
      ...(options.prefix !== undefined && { prefix: options.prefix }),
    });
    this.#queue.on('error', () => {});
    this.#timer = setInterval(() => void this.#check(), this.#checkMs);
    this.#timer.unref();
  }

  /** The worker now serving the queue (a new one after a restart). */
  get worker(): Worker {
    return this.#worker;
  }

  /**
   * Closes the worker (and any stuck one still closing: forced, and not waited for past
   * RETIRING_CLOSE_MS, since a stuck loop may never end).
   */
  async close(force?: boolean): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    const retiring =
      this.#retiring.size === 0
        ? Promise.resolve()
        : Promise.race([
            Promise.allSettled([...this.#retiring].map((w) => w.close(true))),
            new Promise((resolve) => setTimeout(resolve, RETIRING_CLOSE_MS).unref()),
          ]);
    await Promise.allSettled([this.#worker.close(force), this.#queue.close(), retiring]);
  }

  #start(): Worker {
    const worker = new Worker(this.queueName, this.processor, this.options);
    this.wire(worker);
    return worker;
  }

  async #check(): Promise<void> {
    if (this.#checking || this.#closed) return;
    this.#checking = true;
    try {
      const worker = this.#worker;
      // The worker's concurrency as it is now (the runtime lowers it while participant slots
      // are taken).
      const room = this.#inFlight < worker.concurrency;
      if (!room || worker.isPaused() || !worker.isRunning() || !(await this.#jobDue())) {
        this.#due = undefined;
        return;
      }
      const now = Date.now();
      if (!this.#due || this.#started > this.#due.started) {
        this.#due = { since: now, started: this.#started };
        return;
      }
      if (now - this.#due.since < this.#stuckMs || this.#closed) return;
      this.restarts += 1;
      this.log.warn(
        { queue: this.queueName, dueForMs: now - this.#due.since, restarts: this.restarts },
        'worker took no due job while it had room (its fetch loop is stuck, as after some Redis failovers): starting a fresh one',
      );
      this.#due = undefined;
      this.#worker = this.#start();
      this.#retiring.add(worker);
      void worker
        .close()
        .catch(() => {})
        .finally(() => this.#retiring.delete(worker));
    } catch {
      // Redis unreachable: nothing can be judged; the next check tries again.
    } finally {
      this.#checking = false;
    }
  }

  /**
   * A job of the queue could be taken now: one is waiting, or a delayed one is past its time
   * by more than a check (the delayed set's score is the due time x 0x1000, BullMQ's own
   * encoding; a job's `timestamp + delay` is not its due time after a retry's backoff).
   */
  async #jobDue(): Promise<boolean> {
    const counts = await this.#queue.getJobCounts('wait', 'prioritized');
    if ((counts.wait ?? 0) + (counts.prioritized ?? 0) > 0) return true;
    const cutoff = (Date.now() - this.#checkMs) * 0x1000;
    const delayed = this.#queue.keys.delayed ?? this.#queue.toKey('delayed');
    const due = await this.connection.zcount(delayed, '-inf', String(cutoff));
    return due > 0;
  }
}
