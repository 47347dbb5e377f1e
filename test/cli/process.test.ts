import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CONFERENCE_SID, cliEnv, withPrefix } from './run-cli.js';

/** Runs `node --import tsx src/cli/run.ts ...args` as a real process. */
function runProcess(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`confbulk ${args.join(' ')} did not exit within 20 s`));
    }, 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the confbulk process', () => {
  it('exits on its own with the batch id (0), and with 2 on invalid input', async () => {
    await withPrefix(async ({ prefix, workKeys }) => {
      const env = cliEnv(prefix);
      const bad = await runProcess(env, 'mute', '--conference', 'nope');
      expect(bad).toMatchObject({ code: 2, stdout: '' });
      expect(bad.stderr).toMatch(/^confbulk: target\.conferenceSid: must be a UUID/);
      expect(await workKeys()).toEqual([]);

      const ok = await runProcess(env, 'mute', '--conference', CONFERENCE_SID);
      expect(ok).toMatchObject({ code: 0 });
      expect(ok.stderr).toMatch(/^confbulk: warning: no worker serves space default/);
      expect(ok.stdout.trim()).toMatch(/^\S+$/);
      expect(await workKeys()).not.toEqual([]);
    });
  });
});
