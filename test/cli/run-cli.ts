/**
 * Runs the CLI in process with captured output, on a fresh key prefix of the test Redis,
 * and lists the keys it left there.
 */
import type { RedisConnection } from '../../src/queues.js';
import { runCli } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { deleteKeys, keysUnder, testRedis, testRedisEnv, uniquePrefix } from '../helpers/redis.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Output streams that collect what is written. */
function capture(): { io: Omit<CliIo, 'env'>; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => (out += s), isTTY: false },
      stderr: { write: (s: string) => (err += s), isTTY: false },
    },
    out: () => out,
    err: () => err,
  };
}

/** Runs `confbulk ...args` with `env` as its whole environment. */
export async function confbulk(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  const { io, out, err } = capture();
  const code = await runCli(['node', 'confbulk', ...args], { ...io, env });
  return { code, stdout: out(), stderr: err() };
}

export interface CliFixture {
  prefix: string;
  redis: RedisConnection;
  /** Keys holding work under the prefix (queue `meta` hashes excluded), sorted. */
  workKeys(): Promise<string[]>;
}

/** Runs `fn` with a fresh prefix; deletes its keys afterwards. */
export async function withPrefix<T>(fn: (fx: CliFixture) => Promise<T>): Promise<T> {
  const prefix = uniquePrefix();
  const redis = testRedis({ maxRetriesPerRequest: null });
  const workKeys = async (): Promise<string[]> => {
    const keys = await keysUnder(redis, prefix);
    return keys.filter((k) => !k.endsWith(':meta')).sort();
  };
  try {
    return await fn({ prefix, redis, workKeys });
  } finally {
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
  }
}

export const CONFERENCE_SID = '4f1b6e6a-1111-4000-8000-000000000001';
export const CALL_SID = '4f1b6e6a-2222-4000-8000-000000000002';

/** An environment with one `default` space on a loopback URL that is never called. */
export function cliEnv(prefix: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...testRedisEnv(),
    CONFBULK_PREFIX: prefix,
    SIGNALWIRE_SPACE_URL: 'http://127.0.0.1:9',
    SIGNALWIRE_PROJECT_ID: '4f1b6e6a-0000-4000-8000-00000000000a',
    SIGNALWIRE_API_TOKEN: 'sw-token-0123456789',
    LOG_LEVEL: 'silent',
    ...extra,
  };
}
