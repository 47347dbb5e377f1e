import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startMock, type MockServer } from '../../src/mock/index.js';
import type { Batch } from '../../src/types.js';
import { runWorkerProcess } from '../../src/worker/process.js';
import { confbulk, withPrefix } from './run-cli.js';

interface Stack {
  env: NodeJS.ProcessEnv;
  mock: MockServer;
  conferenceSid: string;
  callSids: string[];
}

/** A mock with one conference of `participants` and a worker process on it, for `fn`. */
async function withStack(participants: number, fn: (stack: Stack) => Promise<void>): Promise<void> {
  await withPrefix(async ({ prefix }) => {
    const mock = await startMock({ rateLimit: null });
    try {
      const account = mock.createAccount();
      const conference = mock.createConference(account.accountSid, { participants });
      const env: NodeJS.ProcessEnv = {
        REDIS_URL: process.env.REDIS_URL,
        CONFBULK_PREFIX: prefix,
        SIGNALWIRE_SPACE_URL: mock.url,
        SIGNALWIRE_PROJECT_ID: account.accountSid,
        SIGNALWIRE_API_TOKEN: account.token,
        CONFBULK_SHUTDOWN_TIMEOUT_MS: '2000',
        LOG_LEVEL: 'silent',
      };
      const worker = await runWorkerProcess({
        config: loadConfig(env),
        concurrency: 10,
        logger: silentLogger,
        handleSignals: false,
        progressIntervalMs: 0,
      });
      try {
        await fn({ env, mock, conferenceSid: conference.sid, callSids: conference.callSids });
      } finally {
        await worker.close();
      }
    } finally {
      await mock.stop();
    }
  });
}

describe('--wait', () => {
  it('exits 0 with --json printing the completed batch when every participant succeeded', async () => {
    await withStack(12, async ({ env, mock, conferenceSid }) => {
      const { code, stdout } = await confbulk(
        env,
        'mute',
        '--conference',
        conferenceSid,
        '--wait',
        '--json',
      );
      expect(code).toBe(0);
      const { created, batch } = JSON.parse(stdout) as { created: boolean; batch: Batch };
      expect(created).toBe(true);
      expect(batch).toMatchObject({
        action: 'mute',
        state: 'completed',
        counts: { total: 12, succeeded: 12, gone: 0, deadLettered: 0, pending: 0 },
        finishedAt: expect.any(String),
      });
      expect(mock.participants(conferenceSid).every((p) => p.muted)).toBe(true);
    });
  });

  it('exits 1 when participants were dead-lettered, and dlq shows, replays and purges them', async () => {
    await withStack(6, async ({ env, mock, conferenceSid, callSids }) => {
      const [rejected, other] = callSids as [string, string];
      mock.setFaults({
        rejectCalls: {
          [rejected]: { status: 400, code: 21220, message: 'Invalid state' },
          [other]: { status: 422, code: 21220 },
        },
      });
      const waited = await confbulk(env, 'hold', '--conference', conferenceSid, '--wait');
      expect(waited.code).toBe(1);
      const [summary, hint] = waited.stdout.trim().split('\n');
      expect(summary).toMatch(
        /: completed; 6 participants; 4 succeeded, 0 gone, 0 superseded, 2 dead-lettered, 0 pending$/,
      );
      const batchId = /^batch (\S+):/.exec(summary ?? '')?.[1] ?? '';
      expect(hint).toBe(`dead letters: npx confbulk dlq list --batch ${batchId}`);

      const listed = JSON.parse(
        (await confbulk(env, 'dlq', 'list', '--batch', batchId, '--json')).stdout,
      ) as {
        total: number;
        deadLetters: { id: string; job: { callSid: string } }[];
      };
      expect(listed.total).toBe(2);
      expect(listed.deadLetters.map((d) => d.job.callSid).sort()).toEqual([rejected, other].sort());
      const rejectedId = listed.deadLetters.find((d) => d.job.callSid === rejected)?.id ?? '';

      const shown = await confbulk(env, 'dlq', 'show', rejectedId);
      expect(shown.stdout).toContain(`call:          ${rejected}`);
      expect(shown.stdout).toMatch(/last answer: +HTTP 400 code 21220 Invalid state/);

      mock.setFaults({ rejectCalls: { [rejected]: null } });
      expect(await confbulk(env, 'dlq', 'replay', rejectedId)).toMatchObject({
        code: 0,
        stdout: 'replayed 1 dead letter\n',
      });
      // The replayed job runs in the worker; its outcome replaces the dead letter's in the batch.
      await vi.waitFor(
        async () => {
          const status = await confbulk(env, 'status', batchId, '--json');
          expect(JSON.parse(status.stdout)).toMatchObject({
            counts: { succeeded: 5, deadLettered: 1 },
          });
        },
        { timeout: 10_000, interval: 100 },
      );
      expect(mock.participants(conferenceSid).find((p) => p.callSid === rejected)?.hold).toBe(true);

      expect(await confbulk(env, 'dlq', 'purge', '--all', '--json')).toMatchObject({
        code: 0,
        stdout: '{\n  "purged": 1\n}\n',
      });
    });
  });

  it('remove --except <host SID in upper case> removes everyone but the host', async () => {
    await withStack(5, async ({ env, mock, conferenceSid, callSids }) => {
      const host = callSids[0] ?? '';
      const { code, stdout } = await confbulk(
        env,
        'remove',
        '--conference',
        conferenceSid.toUpperCase(),
        '--except',
        host.toUpperCase(),
        '--wait',
        '--json',
      );
      expect(code).toBe(0);
      const { batch } = JSON.parse(stdout) as { batch: Batch };
      expect(batch).toMatchObject({
        state: 'completed',
        target: { conferenceSid, except: [host] },
        counts: { total: 4, succeeded: 4, deadLettered: 0, pending: 0 },
      });
      expect(mock.participants(conferenceSid).map((p) => p.callSid)).toEqual([host]);
    });
  });

  it('stops waiting after --wait-timeout with exit 1 while the batch goes on', async () => {
    await withStack(3, async ({ env, mock, conferenceSid }) => {
      mock.setFaults({ latencyMs: 1500 });
      const started = Date.now();
      const { code, stderr } = await confbulk(
        env,
        'unmute',
        '--conference',
        conferenceSid,
        '--wait',
        '--wait-timeout',
        '0.3',
      );
      expect(code).toBe(1);
      expect(Date.now() - started).toBeLessThan(1400);
      expect(stderr).toMatch(
        /did not end within 300 ms .*it goes on \(npx confbulk status \S+ --watch\)/,
      );
      mock.clearFaults();
    });
  });
});
