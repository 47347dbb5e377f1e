/**
 * One Redis round trip for many jobs at the same step. With 50 jobs in flight, a worker
 * claims participants and records outcomes dozens of times per event-loop turn; sending
 * each as its own Lua call costs a write, a read and a script invocation apiece, on the
 * client and on Redis. A CallBatcher gathers the calls made during one turn of the event
 * loop, and those made while its previous round trip is pending, into the next round trip.
 *
 * Nothing is weaker for it: each caller still waits for its own reply before it goes on,
 * and the scripts treat every call in a batch exactly as they would treat it alone.
 */

export interface CallBatcherOptions<TCall, TReply> {
  /**
   * Sends one batch. Resolves with one entry per call, in order: the call's reply, or an
   * Error when that call alone failed. A rejection fails every call of the batch.
   */
  send(calls: readonly TCall[]): Promise<readonly (TReply | Error)[]>;
  /**
   * Calls sent in one round trip at most (bounds how long one script holds Redis).
   * @defaultValue 64
   */
  maxBatch?: number;
  /**
   * Round trips in flight at once; further calls wait for the next one. One is enough: a
   * second would queue behind the first on the same connection anyway, and waiting for
   * the first to return makes the next batch bigger.
   * @defaultValue 1
   */
  maxInFlight?: number;
}

/** What a CallBatcher did so far. */
export interface CallBatcherStats {
  calls: number;
  roundTrips: number;
}

interface Pending<TCall, TReply> {
  call: TCall;
  resolve: (reply: TReply) => void;
  reject: (reason: unknown) => void;
}

function checkWhole(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`\`${name}\` must be a whole number >= 1; got ${value}`);
  }
  return value;
}

export class CallBatcher<TCall, TReply> {
  readonly #send: CallBatcherOptions<TCall, TReply>['send'];
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #queue: Pending<TCall, TReply>[] = [];
  #inFlight = 0;
  #scheduled = false;
  readonly #stats: CallBatcherStats = { calls: 0, roundTrips: 0 };

  constructor(options: CallBatcherOptions<TCall, TReply>) {
    this.#send = options.send;
    this.#maxBatch = checkWhole('maxBatch', options.maxBatch ?? 64);
    this.#maxInFlight = checkWhole('maxInFlight', options.maxInFlight ?? 1);
  }

  /** Queues `call` for the next round trip; resolves with its own reply. */
  run(call: TCall): Promise<TReply> {
    this.#stats.calls++;
    return new Promise<TReply>((resolve, reject) => {
      this.#queue.push({ call, resolve, reject });
      this.#schedule();
    });
  }

  /** Calls made and round trips sent so far. */
  stats(): CallBatcherStats {
    return { ...this.#stats };
  }

  /**
   * Flushes after the current turn of the event loop, so that the calls it makes go
   * together; not while every round trip allowed is pending (its end flushes).
   */
  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#maxInFlight) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight++;
      this.#stats.roundTrips++;
      void this.#sendBatch(batch).finally(() => {
        this.#inFlight--;
        if (this.#queue.length > 0) this.#schedule();
      });
    }
  }

  async #sendBatch(batch: Pending<TCall, TReply>[]): Promise<void> {
    let replies: readonly (TReply | Error)[];
    try {
      replies = await this.#send(batch.map((p) => p.call));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const reply = replies[i];
      if (reply instanceof Error) p.reject(reply);
      else if (reply === undefined) p.reject(new Error(`no reply for call ${i} of a batch`));
      else p.resolve(reply);
    });
  }
}
