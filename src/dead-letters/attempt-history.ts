/**
 * Failed requests of a participant job, kept in a Redis list per job id so a dead letter
 * can show every attempt, including those made by other processes before a retry. Only
 * failures are written, so the happy path costs nothing; the list expires on its own.
 */
import type { RedisConnection } from '../queues.js';
import { areaKey } from '../keys.js';
import type { AttemptRecord } from './types.js';

/** Attempts kept per job (the latest ones). */
export const MAX_ATTEMPTS_KEPT = 50;

/** Lists outlive any retry horizon, then vanish without a cleanup job. @defaultValue 7 days */
const HISTORY_TTL_SECONDS = 7 * 24 * 3600;

export class AttemptHistory {
  readonly #redis: RedisConnection;
  readonly #prefix: string;

  constructor(redis: RedisConnection, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #key(jobId: string): string {
    return areaKey(this.#prefix, 'dead-letters', 'attempts', jobId);
  }

  /** Appends one failed attempt (one round trip). */
  async record(jobId: string, attempt: AttemptRecord): Promise<void> {
    const key = this.#key(jobId);
    await this.#redis
      .multi()
      .rpush(key, JSON.stringify(attempt))
      .ltrim(key, -MAX_ATTEMPTS_KEPT, -1)
      .expire(key, HISTORY_TTL_SECONDS)
      .exec();
  }

  /** Every recorded attempt, oldest first. */
  async read(jobId: string): Promise<AttemptRecord[]> {
    const rows = await this.#redis.lrange(this.#key(jobId), 0, -1);
    return rows.flatMap((row) => {
      try {
        return [JSON.parse(row) as AttemptRecord];
      } catch {
        return [];
      }
    });
  }

  async clear(jobId: string): Promise<void> {
    await this.#redis.unlink(this.#key(jobId));
  }
}
