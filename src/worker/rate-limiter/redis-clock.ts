/**
 * Maps Redis time (the clock of the shared schedule) to this process's monotonic clock
 * (`performance.now()`), with bounds that hold, not estimates.
 *
 * A Redis time read by a script that was sent at local `before` and whose reply was read at
 * local `after` happened somewhere in [before, after], so offset = redis - local lies in
 * [redis - after, redis - before]. One round trip alone is a wide interval when the event
 * loop reads the reply late (a busy or starved process), and a permit can only be used
 * where both ends agree, so a late read would void the first permits of a batch. Bounds
 * from successive round trips are intersected instead (as NTP keeps its best samples),
 * each widened by the largest rate difference the clocks can have (NTP slews at most
 * 500 ppm), so the interval stays as narrow as the quickest recent round trip. Bounds that
 * no longer intersect mean a clock was stepped: they start over from the newest one.
 */

/** Largest rate difference between Redis' clock and ours: 500 µs per second. */
const MAX_DRIFT = 0.0005;

export interface LocalWindow {
  /** Local time at or after which the Redis time has surely passed. */
  notBefore: number;
  /** Local time by which the Redis time has surely passed (notAfter <= notBefore). */
  notAfter: number;
}

export class RedisClock {
  /** Bounds of redis - local as of local time `at`. */
  private lo = -Infinity;
  private hi = Infinity;
  private at = 0;

  /** Records a Redis time read between local times `before` and `after`. */
  sample(redisTime: number, before: number, after: number): void {
    const age = after - this.at;
    let lo = Math.max(this.lo - MAX_DRIFT * age, redisTime - after);
    let hi = Math.min(this.hi + MAX_DRIFT * age, redisTime - before);
    if (lo > hi) {
      lo = redisTime - after;
      hi = redisTime - before;
    }
    this.lo = lo;
    this.hi = hi;
    this.at = after;
  }

  /**
   * Where `redisTime` falls on the local clock, valid for use up to `horizonMs` after that
   * moment (a batch's span), given at least one sample.
   */
  toLocal(redisTime: number, horizonMs = 0): LocalWindow {
    const age = Math.max(0, redisTime - this.lo - this.at) + horizonMs;
    return {
      notBefore: redisTime - this.lo + MAX_DRIFT * age,
      notAfter: redisTime - this.hi - MAX_DRIFT * age,
    };
  }

  /** The latest Redis time local time `local` can be, given at least one sample. */
  toRedisNotAfter(local: number): number {
    return local + this.hi + MAX_DRIFT * Math.max(0, local - this.at);
  }

  /** Width of the current bounds in ms (the mapping's uncertainty). */
  get uncertaintyMs(): number {
    return this.hi - this.lo;
  }
}
