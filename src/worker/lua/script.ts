/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not know it
 * (first use, or after a restart or SCRIPT FLUSH). Lua lives in TypeScript strings rather
 * than `.lua` files so that the compiled package needs no copy step.
 *
 * Lua numbers become integer replies (the fraction is cut off), so scripts that return
 * fractional milliseconds return them as strings; see `num()`.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export class LuaScript {
  readonly sha: string;

  constructor(
    /** Name used in error messages. */
    readonly name: string,
    readonly lua: string,
    readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script; `keys.length` must equal `numberOfKeys`. */
  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    if (keys.length !== this.numberOfKeys) {
      throw new TypeError(
        `Lua script '${this.name}' takes ${this.numberOfKeys} keys; got ${keys.length}`,
      );
    }
    try {
      return await redis.evalsha(this.sha, this.numberOfKeys, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      return redis.eval(this.lua, this.numberOfKeys, ...keys, ...args);
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
