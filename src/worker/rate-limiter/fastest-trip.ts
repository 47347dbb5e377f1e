/**
 * The fastest round trip of a space's requests seen lately, from their write to the
 * connection to their answer: the part of every request's latency that is the same for
 * all (transit both ways, the server's least processing time). What a request's round trip
 * takes beyond it may have been spent before the server counted it (a server slow to take
 * it in, a connection it had not accepted yet), so the limiter counts the request that much
 * later (rate-limiter.ts). Kept as the minimum of two spans of `spanMs`, so an old fast
 * trip is forgotten after one or two spans and a server that slowed down is followed.
 *
 * Not trusted for `warmUpMs` after its first sample (at start, or after both spans went by
 * without one): the first round trips of a cold start are slow after the server counted
 * them (cold code, new connections on both sides), so their minimum is not yet the common
 * part. Taken for it, first trips of 30-210 ms let requests of the first burst that the
 * mock took in 25-70 ms after their write count from their write: 2 x 429 in each of 3 runs
 * of test/worker/rate.test.ts (load average 6-7). Until then the answer itself is the bound
 * (0 is returned).
 */
export class FastestTrip {
  private current = Infinity;
  private previous = Infinity;
  private since = -Infinity;
  private firstAt = Infinity;

  constructor(
    private readonly spanMs: number,
    private readonly warmUpMs: number,
  ) {}

  /** Adds a round trip of `ms`, measured at local time `now`. */
  add(ms: number, now: number): void {
    this.roll(now);
    if (!Number.isFinite(this.current) && !Number.isFinite(this.previous)) this.firstAt = now;
    if (ms < this.current) this.current = Math.max(0, ms);
  }

  /**
   * The fastest round trip of the last one to two spans; 0 when none is known or trusted yet
   * (sampled for less than `warmUpMs`, by default the constructor's).
   */
  get(now: number, warmUpMs = this.warmUpMs): number {
    this.roll(now);
    if (now - this.firstAt < warmUpMs) return 0;
    const fastest = Math.min(this.current, this.previous);
    return Number.isFinite(fastest) ? fastest : 0;
  }

  private roll(now: number): void {
    if (now - this.since < this.spanMs) return;
    this.previous = now - this.since < 2 * this.spanMs ? this.current : Infinity;
    this.current = Infinity;
    this.since = now;
  }
}
