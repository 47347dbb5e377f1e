/**
 * The small things a new user trips on, each fixed: flags that would do nothing are
 * refused, filtered dead-letter totals, unknown spaces, `resume` alone, plural counts, and
 * hints that spell a command a clone can run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeadLetters } from '../../src/dead-letters/dead-letters.js';
import { describeTarget, summaryLine } from '../../src/cli/batch-report.js';
import { commandName } from '../../src/cli/command-name.js';
import type { Batch } from '../../src/types.js';
import { CALL_SID, CONFERENCE_SID, cliEnv, confbulk, withPrefix } from './run-cli.js';

const conf = ['--conference', CONFERENCE_SID];
const OTHER_CALL = '4f1b6e6a-3333-4000-8000-000000000003';

function deadLetter(batchId: string, callSid: string): Parameters<DeadLetters['add']>[0] {
  return {
    jobId: `${batchId}.${callSid}`,
    job: {
      v: 1,
      space: 'default',
      conferenceSid: CONFERENCE_SID,
      callSid,
      op: 'update',
      params: { Muted: true },
      batchId,
      intent: 1,
    },
    reason: 'invalid',
    status: 400,
    attempts: [],
  };
}

describe('flags that would do nothing are refused (exit 2, nothing enqueued)', () => {
  it('--wait-timeout without --wait or --watch', async () => {
    await withPrefix(async ({ prefix, workKeys }) => {
      const env = cliEnv(prefix);
      const mute = await confbulk(env, 'mute', ...conf, '--wait-timeout', '5');
      expect(mute.code).toBe(2);
      expect(mute.stderr).toMatch(/^confbulk: --wait-timeout only applies with --wait/);
      const status = await confbulk(env, 'status', 'b-1', '--wait-timeout', '5');
      expect(status.code).toBe(2);
      expect(status.stderr).toMatch(/^confbulk: --wait-timeout only applies with --watch/);
      expect(await workKeys()).toEqual([]);
    });
  });

  it('the same --set parameter twice', async () => {
    await withPrefix(async ({ prefix, workKeys }) => {
      const env = cliEnv(prefix);
      const r = await confbulk(
        env,
        'update',
        ...conf,
        '--set',
        'Muted=true',
        '--set',
        'Muted=false',
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--set Muted is given twice \(true and false\)/);
      expect(await workKeys()).toEqual([]);
    });
  });

  it('--insecure-local while CONFBULK_API_TOKEN is set', async () => {
    const env = cliEnv('unused', { CONFBULK_API_TOKEN: 'a-token-of-16-chars-or-more' });
    const r = await confbulk(env, 'api', '--insecure-local', '--port', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^confbulk: --insecure-local does nothing while CONFBULK_API_TOKEN/);
  });
});

describe('dead letters and spaces', () => {
  it('dlq list --batch reports the total of that batch; an unknown --space is an error', async () => {
    await withPrefix(async ({ prefix, redis }) => {
      const env = cliEnv(prefix);
      const store = new DeadLetters({ connection: redis, prefix });
      await store.add(deadLetter('b-one', CALL_SID));
      await store.add(deadLetter('b-two', OTHER_CALL));
      await store.add(deadLetter('b-two', CALL_SID));
      await store.close();

      const one = await confbulk(env, 'dlq', 'list', '--batch', 'b-one', '--json');
      expect(JSON.parse(one.stdout)).toMatchObject({ total: 1 });
      const two = await confbulk(env, 'dlq', 'list', '--batch', 'b-two', '--json');
      expect(JSON.parse(two.stdout)).toMatchObject({ total: 2 });
      const all = await confbulk(env, 'dlq', 'list', '--json');
      expect(JSON.parse(all.stdout)).toMatchObject({ total: 3 });

      const nosuch = await confbulk(env, 'dlq', 'list', '--space', 'nosuch');
      expect(nosuch.code).toBe(2);
      expect(nosuch.stderr).toMatch(/unknown space profile 'nosuch'; configured profiles: default/);
      expect(nosuch.stdout).toBe('');
    });
  });

  it('resume without --space resumes every paused space and says when none was', async () => {
    await withPrefix(async ({ prefix, redis }) => {
      const env = cliEnv(prefix, {
        SIGNALWIRE_EU_SPACE_URL: 'http://127.0.0.1:9',
        SIGNALWIRE_EU_PROJECT_ID: '4f1b6e6a-0000-4000-8000-00000000000b',
        SIGNALWIRE_EU_API_TOKEN: 'sw-token-eu-0123456789',
      });
      const none = await confbulk(env, 'resume');
      expect(none).toMatchObject({
        code: 0,
        stdout: 'no space was paused or open; nothing to resume\n',
      });

      const { createCircuitBreaker, readCircuitState } =
        await import('../../src/worker/circuit-breaker.js');
      const { DEFAULTS } = await import('../../src/config.js');
      const circuit = createCircuitBreaker({
        redis,
        prefix,
        space: 'eu',
        config: DEFAULTS.circuit,
      });
      await circuit.pauseForCredentials('401 Unauthorized');
      await circuit.close();
      expect(await readCircuitState(redis, prefix, 'eu')).toBe('paused');

      const resumed = await confbulk(env, 'resume');
      expect(resumed).toMatchObject({
        code: 0,
        stdout: 'space eu resumed (its circuit was paused)\n',
      });
      expect(await readCircuitState(redis, prefix, 'eu')).toBe('closed');
    });
  });
});

describe('words and hints', () => {
  it('counts one participant in the singular', () => {
    const batch = {
      id: 'b-1',
      action: 'mute',
      space: 'default',
      state: 'completed',
      target: { conferenceSid: CONFERENCE_SID, callSids: [CALL_SID] },
      counts: { total: 1, succeeded: 1, gone: 0, superseded: 0, deadLettered: 0, pending: 0 },
    } as unknown as Batch;
    expect(summaryLine(batch)).toContain('; 1 participant; 1 succeeded');
    expect(describeTarget(batch.target)).toContain('(1 listed participant)');
  });

  it('spells hints `npx confbulk` where confbulk is not on the PATH', () => {
    expect(commandName({ PATH: '/nonexistent-dir' })).toBe('npx confbulk');
    const dir = mkdtempSync(join(tmpdir(), 'confbulk-path-'));
    try {
      writeFileSync(join(dir, 'confbulk'), '#!/bin/sh\n', { mode: 0o755 });
      expect(commandName({ PATH: `/nonexistent-dir:${dir}` })).toBe('confbulk');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
