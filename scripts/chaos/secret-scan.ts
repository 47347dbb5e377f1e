/**
 * The secret scan, on a run made to tempt leaks: workers and CLI at LOG_LEVEL=debug (one
 * line per request), server errors with odd bodies, a participant whose update is
 * rejected (a dead letter, which stores the job and the API's answer), a spell of 401s
 * with `confbulk resume`, and the batch itself driven by `confbulk mute --wait`, then
 * `status`, `batches` and `dlq list`. Afterwards the API token (as it is, URL-encoded, or
 * inside a Basic authorization header) must be in no Redis key or value and in no line
 * any worker or CLI process wrote.
 */
import { randomUUID } from 'node:crypto';
import { sleep } from '../bench/support/window.js';
import { runCli, type CliRun } from './support/cli.js';
import { check, type ChaosScenario } from './support/scenario.js';
import { secretChecks, withScene, type Scene } from './support/scene.js';
import { scanRedis, scanTranscripts } from './support/secrets.js';

/** The scan must find the token where it is planted; the canary is removed afterwards. */
async function scannerFindsCanary(scene: Scene): Promise<boolean> {
  const { accountSid, token } = scene.stack.account;
  const basic = Buffer.from(`${accountSid}:${token}`).toString('base64');
  const key = 'chaos:canary';
  await scene.stack.client.hset(key, 'authorization', `Basic ${basic}`);
  try {
    const redis = await scanRedis(scene.stack.client, scene.secrets());
    const text = scanTranscripts([{ name: 'canary', text: `token=${token}\n` }], scene.secrets());
    return redis.hits.length === 1 && redis.hits[0] === key && text.hits.length === 1;
  } finally {
    await scene.stack.client.del(key);
  }
}

function batchIdOf(run: CliRun): string | undefined {
  return /"id":\s*"([^"]+)"/.exec(run.output)?.[1];
}

export const secrets: ChaosScenario = {
  name: 'secrets',
  title: 'Secret scan of Redis and of every log line after a run with faults',
  async run({ quick, log }) {
    const n = quick ? 300 : 1000;
    const env = { LOG_LEVEL: 'debug' };
    return withScene({ participants: n, workers: 1, rateLimit: '300/1s', env }, async (scene) => {
      const { mock, account, conference } = scene.stack;
      const [rejected] = conference.callSids;
      mock.setFaults({
        errorRate: 0.1,
        rejectCalls: { [rejected as string]: { status: 400, code: 21220 } },
      });
      const cliEnv = scene.stack.env(env);
      const waiting = runCli(
        cliEnv,
        ['mute', '--conference', conference.sid, '--wait', '--json'],
        180_000,
      );
      await scene.waitApplied(Math.floor(n / 3));
      mock.setToken(account.accountSid, `rotated-${randomUUID()}`);
      await sleep(1500);
      mock.setToken(account.accountSid, account.token);
      const resume = await runCli(cliEnv, ['resume', '--space', 'default']);
      const muted = await waiting;
      const id = batchIdOf(muted);
      const more = id
        ? [
            await runCli(cliEnv, ['status', id]),
            await runCli(cliEnv, ['batches']),
            await runCli(cliEnv, ['dlq', 'list']),
          ]
        : [];
      log(`secrets: batch ${id ?? '(no id)'} ended, CLI exit ${muted.code}; scanning`);
      const canary = await scannerFindsCanary(scene);
      const scan = await secretChecks(scene);
      const counters = mock.counters();
      return {
        figures: {
          participants: n,
          'server errors':
            (counters.byStatus['500'] ?? 0) +
            (counters.byStatus['502'] ?? 0) +
            (counters.byStatus['503'] ?? 0),
          '401s': counters.byStatus['401'] ?? 0,
          '400s (dead letter)': counters.byStatus['400'] ?? 0,
          'CLI commands': 2 + more.length,
          scanned: scan.scanned,
        },
        checks: [
          check(
            '`confbulk mute --wait` saw the batch end (exit 1: one dead letter, as injected)',
            muted.code === 1 && id !== undefined,
            `exit ${muted.code}, batch ${id ?? 'unknown'}`,
          ),
          check(
            '`confbulk resume`, `status`, `batches`, `dlq list` succeed',
            [resume, ...more].every((r) => r.code === 0) && more.length === 3,
            [resume, ...more].map((r) => `${r.args[0]}: ${r.code}`).join(', '),
          ),
          check(
            'the scan finds a planted credential (in a hash, and in a log line)',
            canary,
            canary ? 'found' : 'NOT found',
          ),
          ...scan.checks,
        ],
        notes: [
          'Workers and CLI at LOG_LEVEL=debug; mock: 10 % server errors, one participant rejected with 400, 1.5 s of 401s.',
        ],
      };
    });
  },
};
