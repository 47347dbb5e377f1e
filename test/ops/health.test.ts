/**
 * /healthz and /readyz, and the worker process's HTTP listener, against a real Redis.
 */
import { Queue, Worker } from 'bullmq';
import { fastify } from 'fastify';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/redis.js';
import { createMetrics } from '../../src/metrics.js';
import { healthPlugin } from '../../src/ops/health-plugin.js';
import { openOpsQueues, workersRegisteredOn } from '../../src/ops/queues.js';
import { startWorkerHttp } from '../../src/ops/worker-http.js';
import { testRedisUrl, withRedis } from '../helpers/redis.js';
import { queuePrefix } from '../../src/keys.js';

async function unreachableRedis(): Promise<Redis> {
  const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  return redis;
}

describe('healthPlugin', () => {
  it('is live and ready when Redis answers and no worker check is asked for', () =>
    withRedis(async (redis) => {
      const app = fastify();
      await app.register(healthPlugin({ redis }));
      expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
      const ready = await app.inject('/readyz');
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ready', reasons: [] });
      await app.close();
    }));

  it('stays live but is not ready, with a reason, when Redis is down', async () => {
    const redis = await unreachableRedis();
    const app = fastify();
    const details: string[] = [];
    await app.register(
      healthPlugin({
        redis,
        timeoutMs: 500,
        onCheckFailed: (check, err) => details.push(`${check}: ${err.message}`),
      }),
    );
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    // The error names the address Redis was tried on; the open answer does not.
    expect(ready.json().reasons).toEqual(['Redis is not reachable']);
    expect(ready.body).not.toMatch(/127\.0\.0\.1|:\d{2,5}\b/);
    expect(details).toEqual([expect.stringMatching(/^redis: /)]);
    await app.close();
    redis.disconnect();
  });

  it('is ready on the API only once a worker is connected to an updates queue', () =>
    withRedis(async (redis, prefix) => {
      const queues = openOpsQueues({ connection: redis, prefix, spaces: ['default', 'eu'] });
      const app = fastify();
      await app.register(
        healthPlugin({ redis, workersRegistered: workersRegisteredOn(queues.updates), cacheMs: 0 }),
      );
      const before = await app.inject('/readyz');
      expect(before.statusCode).toBe(503);
      expect(before.json().reasons).toEqual([
        expect.stringMatching(/^no worker is connected \(start one: (npx )?confbulk worker\)$/),
      ]);

      const worker = new Worker('updates.eu', async () => {}, {
        connection: { url: testRedisUrl() },
        prefix: queuePrefix(prefix, 'updates.eu'),
      });
      await worker.waitUntilReady();
      const after = await app.inject('/readyz');
      expect(after.statusCode).toBe(200);
      await worker.close();
      await app.close();
      await queues.close();
    }));
});

describe('readiness cache', () => {
  it('answers a burst of probes from one check, and checks again once the report is older than cacheMs', () =>
    withRedis(async (redis) => {
      let checks = 0;
      const app = fastify();
      await app.register(
        healthPlugin({
          redis,
          cacheMs: 300,
          workersRegistered: async () => {
            checks++;
            return true;
          },
        }),
      );
      const burst = await Promise.all(Array.from({ length: 20 }, () => app.inject('/readyz')));
      expect(burst.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
      expect(checks).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 350));
      await app.inject('/readyz');
      expect(checks).toBe(2);
      await app.close();
    }));
});

describe('startWorkerHttp', () => {
  it('serves /metrics with queue depths, /healthz and /readyz on a real port', () =>
    withRedis(async (redis, prefix) => {
      const metrics = createMetrics();
      const queue = new Queue('updates.default', {
        connection: redis,
        prefix: queuePrefix(prefix, 'updates.default'),
      });
      await queue.add('p', { n: 1 });
      await queue.add('p', { n: 2 }, { delay: 60_000 });
      const http = await startWorkerHttp({ port: 0, metrics, redis, queues: [queue] });
      try {
        expect(http.url).toBe(`http://127.0.0.1:${http.port}`);
        const text = await (await fetch(`${http.url}/metrics`)).text();
        expect(text).toContain('confbulk_queue_jobs{queue="updates.default",state="waiting"} 1');
        expect(text).toContain('confbulk_queue_jobs{queue="updates.default",state="delayed"} 1');
        expect((await fetch(`${http.url}/healthz`)).status).toBe(200);
        expect((await fetch(`${http.url}/readyz`)).status).toBe(200);
        expect((await fetch(`${http.url}/admin/queues`)).status).toBe(404);
      } finally {
        await http.close();
        await http.close();
        await queue.close();
      }
      await expect(fetch(`${http.url}/healthz`)).rejects.toThrow();
    }));
});
