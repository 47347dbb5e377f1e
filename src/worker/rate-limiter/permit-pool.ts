/**
 * The permits one process was granted and has not used yet, on its local monotonic clock
 * (`performance.now()`). A grant is usable until its deadline (its Redis time mapped to the
 * earliest local time it can be, plus the lateness bound); later ones are dropped, never
 * saved up, because a request sent later than its grant could land in a window that did
 * not count it. Dropped grants never started, so they are given back (`onDrop`).
 */

interface Grant {
  count: number;
  /** Local time after which this grant's permits are dropped. */
  deadline: number;
  /** Redis time of the grant (for pauses, which are in Redis time). */
  at: number;
}

export class PermitPool {
  private readonly grants: Grant[] = [];
  private unused = 0;
  /** Permits dropped because nobody used them in time (or a pause voided them). */
  dropped = 0;

  /** `onDrop(at, count)` hears of every grant dropped unused (to give it back). */
  constructor(private readonly onDrop: (at: number, count: number) => void = () => {}) {}

  /** Permits held and not used or dropped yet. */
  get size(): number {
    return this.unused;
  }

  /** Local time the oldest held grant is dropped at (undefined when none is held). */
  get nextDeadline(): number | undefined {
    return this.grants[0]?.deadline;
  }

  /** Adds a grant; one already past its deadline at `now` is dropped at once. */
  add(count: number, deadline: number, at: number, now: number): void {
    if (count <= 0) return;
    if (deadline < now) {
      this.dropped += count;
      this.onDrop(at, count);
      return;
    }
    this.grants.push({ count, deadline, at });
    this.unused += count;
  }

  /**
   * Uses one permit at local time `now`, if one is still usable: returns the Redis time it
   * was granted at, or undefined.
   */
  take(now: number): number | undefined {
    this.dropLate(now);
    const g = this.grants[0];
    if (!g) return undefined;
    g.count -= 1;
    this.unused -= 1;
    if (g.count === 0) this.grants.shift();
    return g.at;
  }

  /** Drops every grant whose deadline passed. */
  dropLate(now: number): void {
    while (this.grants.length > 0 && (this.grants[0] as Grant).deadline < now) this.skipFirst();
  }

  /** Drops every grant made before Redis time `until` (a pause voids them). */
  dropBefore(until: number): void {
    while (this.grants.length > 0 && (this.grants[0] as Grant).at < until) this.skipFirst();
  }

  clear(): void {
    while (this.grants.length > 0) this.skipFirst();
  }

  private skipFirst(): void {
    const g = this.grants.shift() as Grant;
    this.unused -= g.count;
    this.dropped += g.count;
    this.onDrop(g.at, g.count);
  }
}
