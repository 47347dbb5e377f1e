/**
 * The permits one process has reserved and not used yet, on its local monotonic clock
 * (`performance.now()`).
 *
 * Each permit has a window of use, [earliest, latest]: never before its slot (which would
 * crowd the permits of the previous slots) and never more than the lateness bound after it
 * (later ones are dropped, not saved up: saving them would make bursts). Slots map to
 * local time with some uncertainty (RedisClock), so the window is taken on the safe side
 * of both ends: `earliest` is the latest local time the slot can be, `latest` the earliest
 * one plus the lateness bound.
 */

interface Batch {
  /** Redis time of the first permit's slot (exact, unlike the local times). */
  slot: number;
  /** Local time of the first permit's earliest use. */
  earliest: number;
  /** Local time of the first permit's latest use. */
  latest: number;
  /** Distance between consecutive permits (ms). */
  interval: number;
  count: number;
  /** Index of the next unused permit. */
  next: number;
}

export class PermitBook {
  private readonly batches: Batch[] = [];
  private unused = 0;
  /** Permits dropped because nobody used them in time (or a pause voided them). */
  dropped = 0;

  /** Permits reserved and not used or dropped yet. */
  get size(): number {
    return this.unused;
  }

  add(slot: number, earliest: number, latest: number, interval: number, count: number): void {
    if (count <= 0) return;
    this.batches.push({ slot, earliest, latest, interval, count, next: 0 });
    this.unused += count;
  }

  /** Drops every permit whose last moment of use is before `now`. */
  dropLate(now: number): void {
    for (;;) {
      const b = this.batches[0];
      if (!b) return;
      const lateBy = now - (b.latest + b.next * b.interval);
      if (lateBy <= 0) return;
      this.skip(b, Math.min(b.count - b.next, Math.ceil(lateBy / b.interval)));
    }
  }

  /** Drops every permit whose slot (Redis time) is before `until`: a pause voids them. */
  dropBefore(until: number): void {
    for (;;) {
      const b = this.batches[0];
      if (!b) return;
      const ahead = until - (b.slot + b.next * b.interval);
      if (ahead <= 0) return;
      this.skip(b, Math.min(b.count - b.next, Math.ceil(ahead / b.interval)));
    }
  }

  /** Earliest use of the next permit, or undefined when none is left. */
  nextAt(): number | undefined {
    const b = this.batches[0];
    return b ? b.earliest + b.next * b.interval : undefined;
  }

  /** Uses the next permit if its window contains `now`. */
  take(now: number): boolean {
    this.dropLate(now);
    const b = this.batches[0];
    if (!b || b.earliest + b.next * b.interval > now) return false;
    b.next += 1;
    this.unused -= 1;
    if (b.next >= b.count) this.batches.shift();
    return true;
  }

  /** Earliest use of the last permit reserved, or undefined when none is left. */
  lastAt(): number | undefined {
    const b = this.batches[this.batches.length - 1];
    return b ? b.earliest + (b.count - 1) * b.interval : undefined;
  }

  clear(): void {
    this.dropped += this.unused;
    this.batches.length = 0;
    this.unused = 0;
  }

  private skip(b: Batch, n: number): void {
    b.next += n;
    this.unused -= n;
    this.dropped += n;
    if (b.next >= b.count) this.batches.shift();
  }
}
