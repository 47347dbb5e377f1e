/**
 * What keeps schedules from being turned against a shared deployment or a conference:
 *  - a cron pattern may not run more often than `minIntervalMs` (a `* * * * * *` pattern
 *    would start a bulk action every second); the gap is measured over its next 100 runs;
 *  - a space may have at most `maxPerSpace` schedules (checked when one is added; two adds
 *    racing at the cap may both pass, which overshoots by the number of racers at most);
 *  - a run that starts more than `maxLateMs` after its time (workers were down, the queue
 *    was paused) is skipped and recorded, not fired: a conference named by friendly name
 *    may be another meeting by then. The record (last skipped run and a count per schedule)
 *    is kept in Redis and shown with the schedule.
 */
import { CronExpressionParser } from 'cron-parser';
import type { RedisConnection } from '../queues.js';
import { ValidationError } from '../errors.js';
import type { ProducerKeys } from '../keys.js';

/** Runs looked at when measuring a pattern's smallest gap. */
const RUNS_CHECKED = 100;

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * @throws ValidationError naming `cron` when two of the pattern's next runs are closer than
 * `minIntervalMs`.
 */
export function checkMinInterval(cron: string, tz: string, minIntervalMs: number): void {
  if (minIntervalMs <= 0) return;
  const runs = CronExpressionParser.parse(cron, { tz });
  let previous = runs.next().getTime();
  for (let i = 1; i < RUNS_CHECKED && runs.hasNext(); i++) {
    const next = runs.next().getTime();
    if (next - previous < minIntervalMs) {
      throw new ValidationError(
        `cron: '${cron}' runs ${seconds(next - previous)} apart at its closest; the minimum is ` +
          `${seconds(minIntervalMs)} (CONFBULK_SCHEDULE_MIN_INTERVAL_MS)`,
        'cron',
      );
    }
    previous = next;
  }
}

/** The most recent run of a schedule that was skipped for being late. */
export interface SkippedRun {
  /** ISO 8601 time the run was due. */
  runAt: string;
  /** ISO 8601 time it was skipped. */
  skippedAt: string;
  /** How late it was, in ms. */
  lateMs: number;
  /** Runs of this schedule skipped so far. */
  count: number;
}

/** Skipped runs in one hash (`ProducerKeys.skippedRuns()`): schedule name -> SkippedRun. */
export class SkippedRuns {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: ProducerKeys,
  ) {}

  async record(name: string, runAt: number, now = Date.now()): Promise<SkippedRun> {
    const redis = this.redis;
    const before = await redis.hget(this.keys.skippedRuns(), name);
    const count = before ? (JSON.parse(before) as SkippedRun).count + 1 : 1;
    const run: SkippedRun = {
      runAt: new Date(runAt).toISOString(),
      skippedAt: new Date(now).toISOString(),
      lateMs: now - runAt,
      count,
    };
    await redis.hset(this.keys.skippedRuns(), name, JSON.stringify(run));
    return run;
  }

  async all(): Promise<Map<string, SkippedRun>> {
    const redis = this.redis;
    const raw = await redis.hgetall(this.keys.skippedRuns());
    return new Map(Object.entries(raw).map(([k, v]) => [k, JSON.parse(v) as SkippedRun]));
  }

  async forget(name: string): Promise<void> {
    await this.redis.hdel(this.keys.skippedRuns(), name);
  }
}
