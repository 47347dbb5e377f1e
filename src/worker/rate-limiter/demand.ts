/**
 * How many permits a process handed to its callers lately: a count that decays with a time
 * constant (`tauMs`), so it reads about the number handed out in the last `tauMs`. The
 * limiter asks ahead for that many while a window is far from its half (rate-limiter.ts):
 * callers of a busy process come one by one as their requests end, and a reservation per
 * caller would cost a Redis call per request; asked ahead, the next ones find a permit held.
 */
export class Demand {
  private count = 0;
  private at = 0;

  constructor(private readonly tauMs: number) {}

  /** One permit handed out at local time `now`. */
  note(now: number): void {
    this.count = this.recent(now) + 1;
    this.at = now;
  }

  /** About how many were handed out in the last `tauMs` before `now`. */
  recent(now: number): number {
    if (this.tauMs <= 0 || this.count === 0) return 0;
    return this.count * Math.exp(-Math.max(0, now - this.at) / this.tauMs);
  }
}
