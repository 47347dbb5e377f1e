/**
 * What became of one-off schedules: a one-off's job scheduler is removed once it has run,
 * so its run is recorded here (when, and which batch) and `schedule list` keeps showing it
 * for `FIRED_RETENTION_MS`, instead of the schedule vanishing without a trace. One hash,
 * schedule name -> record; adding a schedule of that name again, or removing it, forgets it.
 */
import type { ProducerKeys } from '../keys.js';
import type { RedisConnection } from '../queues.js';
import type { ScheduleSpec } from '../types.js';

/** How long a fired one-off stays listed. */
export const FIRED_RETENTION_MS = 7 * 24 * 3600 * 1000;

export interface FiredOneOff {
  spec: ScheduleSpec;
  createdAt: string;
  firedAt: string;
  batchId: string;
}

export class FiredOneOffs {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: ProducerKeys,
  ) {}

  async record(run: FiredOneOff): Promise<void> {
    await this.redis.hset(this.keys.firedOneOffs(), run.spec.name, JSON.stringify(run));
  }

  /** Every record younger than the retention; older ones are dropped on the way. */
  async all(now = Date.now()): Promise<FiredOneOff[]> {
    const raw = await this.redis.hgetall(this.keys.firedOneOffs());
    const runs = Object.values(raw).map((v) => JSON.parse(v) as FiredOneOff);
    const old = runs.filter((r) => now - Date.parse(r.firedAt) > FIRED_RETENTION_MS);
    if (old.length) await this.redis.hdel(this.keys.firedOneOffs(), ...old.map((r) => r.spec.name));
    return runs.filter((r) => !old.includes(r));
  }

  async forget(name: string): Promise<void> {
    await this.redis.hdel(this.keys.firedOneOffs(), name);
  }
}
