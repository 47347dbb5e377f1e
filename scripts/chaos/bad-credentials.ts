/**
 * Credentials rejected mid-batch: the account's token is rotated at the mock, so every
 * request is answered 401; the workers must pause the space (jobs wait, nothing is
 * dead-lettered or retried to exhaustion). Then the credentials are fixed (the token set
 * back) and the operator runs `confbulk resume --space default` (a real CLI process).
 * Promise: nothing dead-lettered, everything completes, few requests while paused.
 */
import { randomUUID } from 'node:crypto';
import { fmt, seconds } from '../bench/support/table.js';
import { sleep, wallNow } from '../bench/support/window.js';
import { runCli } from './support/cli.js';
import { check, type ChaosScenario } from './support/scenario.js';
import { batchChecks, inspect, secretChecks, waitForBatch, withScene } from './support/scene.js';

export const badCredentials: ChaosScenario = {
  name: 'bad-credentials',
  title: '401 mid-batch, then fixed credentials and `confbulk resume`',
  async run({ quick, log }) {
    const n = quick ? 1000 : 3000;
    const rate = 500;
    const pausedMs = quick ? 2000 : 8000;
    return withScene({ participants: n, workers: 2, rateLimit: `${rate}/1s` }, async (scene) => {
      const { mock, account } = scene.stack;
      const handle = await scene.submit();
      await scene.waitApplied(Math.floor(n * 0.2));
      const start = wallNow();
      mock.setToken(account.accountSid, `rotated-${randomUUID()}`);
      const appliedAtRotation = scene.applied();
      log(
        `bad-credentials: token rotated at ${scene.applied()}/${n} applied; waiting ${seconds(pausedMs)}`,
      );
      await sleep(pausedMs);
      const appliedWhilePaused = scene.applied();
      mock.setToken(account.accountSid, account.token);
      // From here the token is right again: a paused space's own probe may close the
      // circuit before the CLI (a process that takes seconds to start on a loaded machine)
      // resumes it, and what it sends then is not sent with wrong credentials.
      const restoredAt = wallNow();
      const resume = await runCli(scene.stack.env(), ['resume', '--space', 'default']);
      const resumedAt = wallNow();
      log(
        `bad-credentials: token restored, \`confbulk resume\` exited ${resume.code}: ${resume.output.trim()}`,
      );
      const { batch, ended } = await waitForBatch(scene, handle.id, (n / rate) * 3000 + 90_000);
      const doneAt = wallNow();
      const whilePaused = mock
        .requestLog(start)
        .filter((e) => e.t < restoredAt && e.method === 'POST');
      const unauthorized = whilePaused.filter((e) => e.status === 401).length;
      const found = await inspect(scene);
      const secrets = await secretChecks(scene, [{ name: 'cli resume', text: resume.output }]);
      const requestBudget = scene.workers.length * scene.concurrency + 50;
      return {
        figures: {
          jobs: n,
          'credentials broken for': seconds(restoredAt - start),
          '401s received': unauthorized,
          'POSTs while broken': whilePaused.length,
          'resume to batch end (time to recover)': seconds(doneAt - resumedAt),
          lost: found.lost,
          'dead letters': found.deadLetters,
          'attempts max / mean': `${found.maxAttempts} / ${fmt(found.meanAttempts, 3)}`,
        },
        checks: [
          check(
            '`confbulk resume --space default` succeeds',
            resume.code === 0,
            `exit ${resume.code}: ${resume.output.trim().slice(0, 200)}`,
          ),
          check(
            'no update applied while the credentials were wrong, and 401s seen',
            appliedWhilePaused === appliedAtRotation && unauthorized > 0,
            `${appliedWhilePaused - appliedAtRotation} applied, ${unauthorized} 401s`,
          ),
          check(
            `few requests while the credentials were wrong (<= ${requestBudget})`,
            whilePaused.length <= requestBudget,
            `${whilePaused.length} POSTs`,
          ),
          ...batchChecks(n, batch, ended, found),
          check(
            '401s consume no attempt: every job done on its first attempt',
            found.maxAttempts <= 1,
            `max ${found.maxAttempts}`,
          ),
          ...secrets.checks,
        ],
        notes: [
          `2 worker processes x ${scene.concurrency} in flight at ${rate}/s; mock \`setToken()\` to a new token, then back, then the CLI's \`resume\`.`,
        ],
      };
    });
  },
};
