import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { startWorkerRuntime } from '../../src/worker/runtime.js';
import { until, withStack } from './support/stack.js';
import { queuePrefix } from '../../src/keys.js';

describe('worker runtime', () => {
  it('serves extra workers, retrying their jobs with the confbulk backoff', async () => {
    await withStack({ participants: 1 }, async (s) => {
      const seen: number[] = [];
      const runtime = await s.start({
        extraWorkers: [
          {
            queueName: 'extra',
            concurrency: 1,
            processor: async (job) => {
              seen.push(job.attemptsMade);
              if (job.attemptsMade === 0) throw new Error('first try fails');
              return 'done';
            },
          },
        ],
      });
      expect(runtime.workers.map((w) => w.name)).toEqual(['updates.default', 'extra']);
      const queue = new Queue('extra', {
        connection: s.redis,
        prefix: queuePrefix(s.prefix, 'extra'),
      });
      try {
        const job = await queue.add('x', {}, { attempts: 2, backoff: { type: 'confbulk' } });
        await until(async () => (await job.getState()) === 'completed', 5000, 'the extra job');
        expect(seen).toEqual([0, 1]);
      } finally {
        await queue.close();
      }
      await Promise.all([runtime.close(), runtime.close()]);
      expect(runtime.workers.every((w) => w.closing !== undefined)).toBe(true);
    });
  });

  it('refuses to start without a space to serve, naming how to configure one', async () => {
    await withStack({}, async (s) => {
      const start = (spaces: string[]) =>
        startWorkerRuntime({
          config: { ...s.config, spaces: new Map() },
          connection: s.redis,
          logger: silentLogger,
          spaces,
        });
      await expect(start([])).rejects.toThrow(/SIGNALWIRE_SPACE_URL/);
      await expect(
        startWorkerRuntime({
          config: s.config,
          connection: s.redis,
          logger: silentLogger,
          spaces: ['eu'],
        }),
      ).rejects.toBeInstanceOf(ConfigError);
    });
  });
});
