/**
 * The request log and counters of the mock: every Compatibility API request with its
 * arrival time, so tests and benchmarks can check a client's request rate against the
 * API's window after the fact.
 *
 * The log is a ring of at most `capacity` entries (the oldest are dropped and counted).
 * Arrival times only grow, so `since` queries use a binary search.
 */

export interface RequestLogEntry {
  /** Arrival, epoch ms with sub-ms precision (`performance.timeOrigin + performance.now()`). */
  t: number;
  method: string;
  /** Path without the query string. */
  path: string;
  /** Status answered; 0 when the socket was reset without an answer. */
  status: number;
  /** Authenticated account; null when authentication failed. */
  accountSid: string | null;
  /** Participant the request addressed, if any. */
  callSid: string | null;
  /** Form parameters of a POST, or query parameters of a GET, as parsed; null when none. */
  params: Record<string, string> | null;
}

export interface MockCounters {
  /** Compatibility API requests received (control routes excluded). */
  requests: number;
  byMethod: Record<string, number>;
  /** Answers by HTTP status; socket resets are in `resets`. */
  byStatus: Record<string, number>;
  /** 429 answers. */
  rateLimited: number;
  /** POST/PUT/PATCH requests the rate limiter accepted (counted in a window). */
  acceptedPosts: number;
  /** Participant updates applied. */
  appliedUpdates: number;
  /** Participants removed by DELETE. */
  removals: number;
  /** Announcements played to participants. */
  announcements: number;
  /** Sockets destroyed without an answer. */
  resets: number;
  /** Log entries dropped because the log was full. */
  droppedLogEntries: number;
}

export function emptyCounters(): MockCounters {
  return {
    requests: 0,
    byMethod: {},
    byStatus: {},
    rateLimited: 0,
    acceptedPosts: 0,
    appliedUpdates: 0,
    removals: 0,
    announcements: 0,
    resets: 0,
    droppedLogEntries: 0,
  };
}

export class RequestLog {
  private entries: (RequestLogEntry | undefined)[] = [];
  private start = 0;
  private size = 0;
  counters: MockCounters = emptyCounters();

  constructor(readonly capacity: number) {}

  /** Records an arriving request; its status is filled in when it is answered. */
  add(entry: RequestLogEntry): RequestLogEntry {
    const c = this.counters;
    c.requests++;
    c.byMethod[entry.method] = (c.byMethod[entry.method] ?? 0) + 1;
    if (this.capacity === 0) return entry;
    if (this.size < this.capacity) {
      this.entries[(this.start + this.size) % this.capacity] = entry;
      this.size++;
    } else {
      this.entries[this.start] = entry;
      this.start = (this.start + 1) % this.capacity;
      c.droppedLogEntries++;
    }
    return entry;
  }

  /** Counts the answer of a logged request. */
  answered(entry: RequestLogEntry, status: number): void {
    entry.status = status;
    const c = this.counters;
    if (status === 0) {
      c.resets++;
      return;
    }
    c.byStatus[status] = (c.byStatus[status] ?? 0) + 1;
    if (status === 429) c.rateLimited++;
  }

  /** Entries that arrived after `since` (epoch ms), oldest first. */
  list(since?: number): RequestLogEntry[] {
    const from = since === undefined ? 0 : this.firstAfter(since);
    const out: RequestLogEntry[] = new Array<RequestLogEntry>(this.size - from);
    for (let i = from; i < this.size; i++) out[i - from] = this.at(i);
    return out;
  }

  /** Empties the log and zeroes the counters. */
  reset(): void {
    this.entries = [];
    this.start = 0;
    this.size = 0;
    this.counters = emptyCounters();
  }

  private at(i: number): RequestLogEntry {
    return this.entries[(this.start + i) % this.capacity] as RequestLogEntry;
  }

  private firstAfter(since: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).t > since) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
