/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not know it
 * (first use, or after a restart or SCRIPT FLUSH). Lua lives in TypeScript strings rather
 * than `.lua` files so that the compiled package needs no copy step.
 *
 * Lua numbers become integer replies (the fraction is cut off), so scripts that return
 * fractional milliseconds return them as strings; see `num()`.
 */
import { createHash } from 'node:crypto';
import type { RedisConnection } from '../../queues.js';

export class LuaScript {
  readonly sha: string;

  constructor(
    /** Name used in error messages. */
    readonly name: string,
    readonly lua: string,
    /** Keys the script takes; -1 for any number (at least one), as its comment says. */
    readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script; `keys.length` must equal `numberOfKeys` (or be >= 1 when it is -1). */
  async run(redis: RedisConnection, keys: string[], args: (string | number)[]): Promise<unknown> {
    const variable = this.numberOfKeys < 0;
    if (variable ? keys.length < 1 : keys.length !== this.numberOfKeys) {
      throw new TypeError(
        `Lua script '${this.name}' takes ${variable ? 'at least 1' : this.numberOfKeys} keys; got ${keys.length}`,
      );
    }
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

/** Reads element `i` of a script's array reply as a number (replies carry strings). */
export function num(reply: unknown, i: number): number {
  const value = Array.isArray(reply) ? Number(reply[i]) : NaN;
  if (!Number.isFinite(value)) {
    throw new TypeError(
      `unexpected Lua reply: element ${i} of ${JSON.stringify(reply)} is not a number`,
    );
  }
  return value;
}

/** Reads element `i` of a script's array reply as a string. */
export function str(reply: unknown, i: number): string {
  const value = Array.isArray(reply) ? (reply[i] as unknown) : undefined;
  if (typeof value !== 'string') {
    throw new TypeError(
      `unexpected Lua reply: element ${i} of ${JSON.stringify(reply)} is not a string`,
    );
  }
  return value;
}
