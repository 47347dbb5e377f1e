/**
 * `kill -9` of worker processes during a batch: five times, alternating between the two
 * workers, each killed while busy and restarted at once. A killed process's jobs come back
 * through BullMQ's stalled-job recovery. Promise: every job ends terminal, nothing is lost
 * or dead-lettered, and requests repeated for the same participant stay within
 * concurrency x kills (only requests in flight at a kill can be repeated).
 */
import { childTranscripts } from '../bench/support/processes.js';
import { fmt, seconds } from '../bench/support/table.js';
import { wallNow } from '../bench/support/window.js';
import { check, type ChaosScenario } from './support/scenario.js';
import {
  batchChecks,
  inspect,
  RECOVERY_ARGS,
  secretChecks,
  waitForBatch,
  withScene,
} from './support/scene.js';

/** Longest time without a POST arriving at the mock, after `from`. */
function longestGap(times: number[], from: number): number {
  let gap = 0;
  for (let i = 1; i < times.length; i++) {
    if ((times[i] as number) > from)
      gap = Math.max(gap, (times[i] as number) - (times[i - 1] as number));
  }
  return gap;
}

export const killWorkers: ChaosScenario = {
  name: 'kill-workers',
  title: 'kill -9 of worker processes five times during a batch',
  async run({ quick, log }) {
    const n = quick ? 3000 : 10_000;
    const kills = 5;
    const rate = quick ? 400 : 800;
    return withScene({ participants: n, workers: 2, rateLimit: `${rate}/1s` }, async (scene) => {
      const started = wallNow();
      const handle = await scene.submit();
      const live = [...scene.workers];
      const killTimes: number[] = [];
      for (let k = 0; k < kills; k++) {
        const target = live[k % live.length];
        if (!target) break;
        await scene.waitApplied(Math.floor((n * (k + 1)) / (kills + 2)));
        await target.ready();
        if (scene.applied() >= n) break;
        await target.kill('SIGKILL');
        killTimes.push(wallNow());
        log(
          `kill-workers: killed ${target.name} (pid ${target.pid}) at ${scene.applied()}/${n} applied`,
        );
        live[k % live.length] = scene.spawnWorker();
      }
      const { batch, ended } = await waitForBatch(scene, handle.id, (n / rate) * 3000 + 90_000);
      const doneAt = wallNow();
      const found = await inspect(scene);
      const times = scene.stack.mock
        .requestLog()
        .filter((e) => e.method === 'POST')
        .map((e) => e.t);
      const gap = longestGap(times, killTimes[0] ?? Infinity);
      const stalled = childTranscripts().reduce(
        (s, t) => s + (t.text.match(/stalled job taken back/g)?.length ?? 0),
        0,
      );
      const secrets = await secretChecks(scene);
      const bound = scene.concurrency * kills;
      return {
        figures: {
          jobs: n,
          kills: killTimes.length,
          lost: found.lost,
          'duplicates (bound)': `${found.duplicates} (${bound})`,
          'dead letters': found.deadLetters,
          'longest stall after a kill': seconds(gap),
          'last kill to batch end': seconds(doneAt - (killTimes[killTimes.length - 1] ?? doneAt)),
          'batch time': seconds(doneAt - started),
          'stalled jobs taken back': stalled,
          'attempts max / mean': `${found.maxAttempts} / ${fmt(found.meanAttempts, 3)}`,
        },
        checks: [
          check(
            `${kills} kill -9 during the batch`,
            killTimes.length === kills,
            `${killTimes.length} kills`,
          ),
          ...batchChecks(n, batch, ended, found),
          check(
            'duplicates <= concurrency x kills',
            found.duplicates <= bound,
            `${found.duplicates} <= ${scene.concurrency} x ${kills}`,
          ),
          ...secrets.checks,
        ],
        notes: [
          `2 worker processes x ${scene.concurrency} in flight, ${rate}/s, mock latency 20-30 ms; workers started with ${RECOVERY_ARGS.join(' ')} so that a killed process's jobs come back within seconds.`,
          'Duplicates: POSTs for a participant beyond its first (every one of them answered 200, all idempotent Muted=true).',
        ],
      };
    });
  },
};
