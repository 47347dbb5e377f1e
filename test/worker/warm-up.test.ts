/**
 * The warm-up of a worker start (src/worker/warm-up.ts): before the stack counts as started,
 * each space's API has had one read (its connection is open), and an API that cannot be
 * reached does not stop the start: one warning line, and the worker runs.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startWorkerStack } from '../../src/worker/stack.js';
import { withScene, type Scene } from '../producer/support.js';

describe('worker warm-up', () => {
  it('reads each space once before the stack counts as started', async () => {
    await withScene(
      async (scene) => {
        const { mock } = scene as Required<Scene>;
        const workers = await scene.startWorkers();
        const log = mock.requestLog();
        expect(
          log.map((e) => [e.method, e.path.replace(/.*\/Accounts\/[^/]+/, ''), e.params]),
        ).toEqual([['GET', '/Conferences.json', { Status: 'in-progress', PageSize: '1' }]]);
        expect(log[0]?.status).toBe(200);
        await workers.stop();
      },
      { withMock: true },
    );
  });

  it('starts anyway, with one warning per space, when the API cannot be reached', async () => {
    await withScene(async (scene) => {
      // No mock: the space profile points at a closed port.
      let out = '';
      const logger = createLogger({
        destination: { write: (s: string) => (out += s) },
        level: 'info',
      });
      const connection = scene.redis.duplicate();
      const stack = await startWorkerStack({ config: scene.config, connection, logger });
      try {
        expect(stack.runtime.workers.length).toBeGreaterThan(0);
        const warnings = out
          .split('\n')
          .filter((line) => line.includes('warm-up at start failed'))
          .map((line) => JSON.parse(line) as { level: number; space: string });
        expect(warnings).toEqual([expect.objectContaining({ level: 40, space: 'default' })]);
      } finally {
        await stack.close(1000);
        connection.disconnect();
      }
    });
  });
});
