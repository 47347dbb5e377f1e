/**
 * A Lua script that serves a whole batch of calls (see call-batcher.ts), so its number of
 * keys is that of the batch: each call's own keys, declared in KEYS like any other. Run
 * with EVALSHA, falling back to EVAL when the server does not know it yet.
 */
import { createHash } from 'node:crypto';
import type { RedisConnection } from '../../queues.js';

export class BatchScript {
  readonly sha: string;

  constructor(
    /** Name used in error messages. */
    readonly name: string,
    readonly lua: string,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script once for the whole batch; its reply holds one entry per call. */
  async run(redis: RedisConnection, keys: string[], args: (string | number)[]): Promise<unknown[]> {
    let reply: unknown;
    try {
      reply = await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      reply = await redis.eval(this.lua, keys.length, ...keys, ...args);
    }
    if (!Array.isArray(reply)) {
      throw new TypeError(
        `Lua script '${this.name}' replied ${JSON.stringify(reply)}, not an array`,
      );
    }
    return reply;
  }
}

/**
 * Runs `body(...)` under pcall: a call that fails becomes an error reply in its own slot
 * instead of failing every call of the batch. Lua of `protect(fn, ...)`.
 */
export const PROTECT = `
local function protect(fn, ...)
  local ok, result = pcall(fn, ...)
  if ok then return result end
  if type(result) == 'table' and result.err then return result end
  return { err = tostring(result) }
end
`;
