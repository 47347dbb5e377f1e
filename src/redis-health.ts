/**
 * One clear line per Redis outage. Every connection of a long-running process (the shared
 * one, its duplicates, BullMQ's blocking connections) reports its errors here. The first
 * connection error after a healthy spell logs one warning naming REDIS_URL and the host
 * (never the password); the retries that follow are quiet (debug), ioredis reconnecting
 * with the capped backoff of `createRedis`. When a connection is ready again, one line
 * says Redis is back and how long it was away. Errors that are not about reaching Redis
 * are logged with their message only, once per `REPEAT_QUIET_MS` for the same message: a
 * Redis Cluster failing over makes every connection report "Failed to refresh slots cache"
 * every 100 ms, and a flood of the same line says nothing the first one did not. Messages
 * that differ only in ids and numbers ("Missing key for job <id>", one per job of a lost
 * shard) count as the same. The next line after a quiet spell counts what it left out.
 */
import type { Logger } from './logger.js';
import { targetWhere, type RedisConnection, type RedisTarget } from './queues.js';
import { connectionReason, isConnectionError } from './redis-url.js';

/** How long the same command error stays quiet after it was logged. */
export const REPEAT_QUIET_MS = 30_000;
/** Messages remembered at most (they may carry ids: the oldest is forgotten first). */
const REMEMBERED = 100;

export class RedisHealth {
  #downSince: number | undefined;
  /** Command error message -> when it was last logged, and how often it came since. */
  readonly #repeats = new Map<string, { loggedAt: number; since: number }>();
  readonly #where: string;

  constructor(
    private readonly log: Logger,
    target: string | RedisTarget | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.#where = targetWhere(target ?? {});
  }

  /** True while the last word of the connections is an error. */
  get down(): boolean {
    return this.#downSince !== undefined;
  }

  /** Reports an error of any connection or of a BullMQ worker/queue. */
  error(err: unknown, source: string): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (!isConnectionError(error)) {
      this.#commandError(error.message, source);
      return;
    }
    if (this.#downSince !== undefined) {
      this.log.debug({ err: connectionReason(error), source }, 'Redis still unreachable');
      return;
    }
    this.#downSince = this.now();
    this.log.warn(
      { err: connectionReason(error), redis: this.#where.replace(/^Redis at /, '') },
      `cannot reach ${this.#where} (REDIS_URL): ${connectionReason(error)}; retrying quietly with backoff`,
    );
  }

  #commandError(message: string, source: string): void {
    const now = this.now();
    // Ids and numbers apart: every word with a digit in it is one and the same.
    const kind = message.replace(/\S*\d\S*/g, '#');
    const seen = this.#repeats.get(kind);
    if (seen && now - seen.loggedAt < REPEAT_QUIET_MS) {
      seen.since += 1;
      this.log.debug({ err: message, source }, 'Redis command error (repeated)');
      return;
    }
    this.#repeats.delete(kind);
    this.#repeats.set(kind, { loggedAt: now, since: 0 });
    if (this.#repeats.size > REMEMBERED) {
      this.#repeats.delete(this.#repeats.keys().next().value as string);
    }
    const repeated = seen?.since ?? 0;
    if (repeated === 0) {
      this.log.error({ err: message, source }, 'Redis command error');
      return;
    }
    const quietS = Math.round((now - seen!.loggedAt) / 1000);
    this.log.error(
      { err: message, source, repeated },
      `Redis command error (${repeated} more like it in the ${quietS} s before)`,
    );
  }

  /** Reports that a connection is ready (again). */
  ready(): void {
    if (this.#downSince === undefined) return;
    const downMs = this.now() - this.#downSince;
    this.#downSince = undefined;
    this.log.info(
      { downMs },
      `${this.#where} is reachable again after ${(downMs / 1000).toFixed(1)} s`,
    );
  }

  /** Reports the errors and readiness of `redis` here. */
  watch<T extends RedisConnection>(redis: T, source: string): T {
    redis.on('error', (err: Error) => this.error(err, source));
    redis.on('ready', () => this.ready());
    return redis;
  }
}
