/**
 * Redis restarted mid-batch: a private redis-server with `--appendonly yes --appendfsync
 * always` (every acknowledged write is on disk before it is acknowledged) is stopped and
 * started again on the same port while two workers are busy. Workers, the producer and
 * the limiter reconnect on their own. Promise: every acknowledged job completes, nothing
 * is lost or dead-lettered.
 */
import { fmt, seconds } from '../bench/support/table.js';
import { wallNow } from '../bench/support/window.js';
import type { ChaosScenario } from './support/scenario.js';
import { batchChecks, inspect, secretChecks, waitForBatch, withScene } from './support/scene.js';

export const redisRestart: ChaosScenario = {
  name: 'redis-restart',
  title: 'Redis restarted mid-batch (AOF, appendfsync always)',
  async run({ quick, log }) {
    const n = quick ? 2000 : 5000;
    const rate = 500;
    const scene = {
      participants: n,
      workers: 2,
      rateLimit: `${rate}/1s`,
      redisArgs: ['--appendonly', 'yes', '--appendfsync', 'always'],
    };
    return withScene(scene, async (scene) => {
      const started = wallNow();
      const handle = await scene.submit();
      await scene.waitApplied(Math.floor(n * 0.4));
      const stopAt = wallNow();
      const appliedAtRestart = scene.applied();
      await scene.stack.redis.restart();
      const upAt = wallNow();
      log(
        `redis-restart: Redis restarted at ${appliedAtRestart}/${n} applied, down ${seconds(upAt - stopAt)}`,
      );
      const { batch, ended } = await waitForBatch(scene, handle.id, (n / rate) * 3000 + 90_000);
      const doneAt = wallNow();
      const firstAfter = scene.stack.mock.requestLog(upAt).find((e) => e.method === 'POST')?.t;
      const found = await inspect(scene);
      const secrets = await secretChecks(scene);
      return {
        figures: {
          jobs: n,
          'applied at restart': appliedAtRestart,
          'Redis down': seconds(upAt - stopAt),
          'Redis up to next POST': seconds(
            firstAfter === undefined ? undefined : firstAfter - upAt,
          ),
          'Redis up to batch end': seconds(doneAt - upAt),
          'batch time': seconds(doneAt - started),
          lost: found.lost,
          duplicates: found.duplicates,
          'dead letters': found.deadLetters,
          'attempts max / mean': `${found.maxAttempts} / ${fmt(found.meanAttempts, 3)}`,
        },
        checks: [...batchChecks(n, batch, ended, found), ...secrets.checks],
        notes: [
          `2 worker processes x ${scene.concurrency} in flight at ${rate}/s; \`restart()\` of scripts/redis.ts: SIGTERM, then the same port and data directory.`,
        ],
      };
    });
  },
};
