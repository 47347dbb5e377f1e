/**
 * One clear line per Redis outage. Every connection of a long-running process (the shared
 * one, its duplicates, BullMQ's blocking connections) reports its errors here. The first
 * connection error after a healthy spell logs one warning naming REDIS_URL and the host
 * (never the password); the retries that follow are quiet (debug), ioredis reconnecting
 * with the capped backoff of `createRedis`. When a connection is ready again, one line
 * says Redis is back and how long it was away. Errors that are not about reaching Redis
 * are logged as they come, with their message only.
 */
import type { Logger } from './logger.js';
import { targetWhere, type RedisConnection, type RedisTarget } from './queues.js';
import { connectionReason, isConnectionError } from './redis-url.js';

export class RedisHealth {
  #downSince: number | undefined;
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
      this.log.error({ err: error.message, source }, 'Redis command error');
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
