/**
 * Callers waiting in FIFO order for something a gate hands out (a rate-limit permit, the
 * circuit's permission), each with an optional AbortSignal: an aborted caller leaves the
 * queue at once (O(1)) and its promise rejects with the signal's reason.
 */
import { performance } from 'node:perf_hooks';

interface Entry<T> {
  since: number;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class Waiters<T> {
  /** Insertion-ordered: FIFO with O(1) removal of an aborted waiter. */
  private readonly entries = new Set<Entry<T>>();

  get size(): number {
    return this.entries.size;
  }

  /** Queues a caller; the promise settles when it is handed a value, rejected or aborted. */
  wait(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const entry: Entry<T> = {
        since: performance.now(),
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal) {
        entry.onAbort = () => {
          if (this.entries.delete(entry)) reject(signal.reason);
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.entries.add(entry);
    });
  }

  /**
   * Hands values to waiters, oldest first, while `take()` says one is available;
   * `value(since)` gets the time (performance.now) the waiter started waiting.
   */
  resolveWhile(take: () => boolean, value: (since: number) => T): void {
    for (const entry of this.entries) {
      if (!take()) return;
      this.remove(entry).resolve(value(entry.since));
    }
  }

  /** Hands `value` to the oldest waiter; false when there is none. */
  resolveFirst(value: T): boolean {
    const first = this.entries.values().next();
    if (first.done) return false;
    this.remove(first.value).resolve(value);
    return true;
  }

  resolveAll(value: T): void {
    for (const entry of this.entries) this.remove(entry).resolve(value);
  }

  rejectAll(reason: unknown): void {
    for (const entry of this.entries) this.remove(entry).reject(reason);
  }

  private remove(entry: Entry<T>): Entry<T> {
    this.entries.delete(entry);
    if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
    return entry;
  }
}
