/**
 * Every key a Lua script of confbulk touches arrives in KEYS (Redis Cluster's rule), read
 * from the scripts themselves (see lua-keys.ts): Redis refuses only a key of another
 * slot, and every key of one script shares a slot, so running them would not show it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchScript } from '../../src/batches/lua/batch-script.js';
import { LuaScript } from '../../src/worker/lua/script.js';
import { undeclaredKeys } from './lua-keys.js';

const SRC = join(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Files that only hold Lua pasted into the scripts of other files. */
const SNIPPETS = ['batches/lua/snippets.ts', 'batches/lua/batch-script.ts'];
/** The classes that run scripts (EVALSHA, then EVAL). */
const RUNNERS = ['worker/lua/script.ts', 'batches/lua/batch-script.ts'];

describe('Lua scripts and KEYS', () => {
  it('every script of src/ names only keys from KEYS', async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const path of sourceFiles(SRC)) {
      const file = relative(SRC, path);
      const source = readFileSync(path, 'utf8');
      if (/\.eval(sha)?\(/.test(source) && !RUNNERS.includes(file)) {
        problems.push(`${file} runs Lua itself (use a LuaScript or BatchScript)`);
      }
      if (!/redis\.p?call\(/.test(source) || SNIPPETS.includes(file)) continue;
      const defined = source.match(/new (Lua|Batch)Script\(/g)?.length ?? 0;
      const exported = Object.values(await import(path)).filter(
        (value): value is LuaScript | BatchScript =>
          value instanceof LuaScript || value instanceof BatchScript,
      );
      // A script the test cannot reach is one it cannot check: each must be exported.
      if (exported.length !== defined) {
        problems.push(`${file} defines ${defined} scripts and exports ${exported.length}`);
      }
      for (const script of exported) {
        checked++;
        for (const key of undeclaredKeys(script.lua))
          problems.push(`${file} ${script.name}: ${key}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(24);
  });

  it('the check reports keys built or read inside Lua', () => {
    expect(undeclaredKeys(`redis.call('DEL', KEYS[1] .. ':members')`)).toEqual([
      "DEL KEYS[1] .. '_members'",
    ]);
    expect(undeclaredKeys(`redis.call('GET', ARGV[1])`)).toEqual(['GET ARGV[1]']);
    expect(undeclaredKeys(`redis.call('DEL', KEYS[1], ARGV[1])`)).toEqual(['DEL ARGV[1]']);
    expect(
      undeclaredKeys(`
local id = redis.call('GET', KEYS[1])
redis.call('SISMEMBER', ARGV[2] .. id .. ':except', ARGV[3])`),
    ).toEqual(["SISMEMBER ARGV[2] .. id .. '_except'"]);
    // A local or a parameter counts only when what it is bound to is a key from KEYS.
    expect(undeclaredKeys(`local k = ARGV[1]\nredis.call('HSET', k, 'a', 1)`)).toEqual(['HSET k']);
    const viaParameter = `
local function done(batchKey, outcomesKey)
  redis.call('PEXPIRE', batchKey, 1)
  redis.call('PEXPIRE', outcomesKey, 1)
end
done(KEYS[1], KEYS[1] .. ':outcomes')`;
    expect(undeclaredKeys(viaParameter)).toEqual(['PEXPIRE outcomesKey']);
    expect(undeclaredKeys(`local kk = KEYS[2]\nredis.call('HSET', kk, 'a', 1)`)).toEqual([]);
    expect(undeclaredKeys(`redis.call('HGET', KEYS[2 * b + 1], ARGV[1])`)).toEqual([]);
  });
});
