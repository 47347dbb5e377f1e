/**
 * Operations inside the HTTP API (`buildApp({ extraPlugins: apiOps(...).plugins })`):
 * /metrics behind a token, open /readyz, the dashboard behind its own login, and a dashboard session
 * that opens /admin only, never /v1.
 */
import { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { loadConfig, type ConfbulkConfig } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import { openDeadLetters } from '../../src/http/dependencies.js';
import { silentLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { apiOps } from '../../src/ops/api-plugins.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import { deleteKeys, testRedis, testRedisEnv, uniquePrefix } from '../helpers/redis.js';
import { queuePrefix } from '../../src/keys.js';

const TOKEN = 'api-ops-test-token-0123456789';

async function withApi(
  fn: (app: FastifyInstance, config: ConfbulkConfig & { redisUrl: string }) => Promise<void>,
): Promise<void> {
  const prefix = uniquePrefix();
  const config = loadConfig({
    ...testRedisEnv(),
    CONFBULK_PREFIX: prefix,
    CONFBULK_API_TOKEN: TOKEN,
    SIGNALWIRE_SPACE_URL: 'https://example.signalwire.com',
    SIGNALWIRE_PROJECT_ID: 'project',
    SIGNALWIRE_API_TOKEN: 'space-token',
  }) as ConfbulkConfig & { redisUrl: string };
  const metrics = createMetrics();
  const ops = apiOps({
    config,
    metrics,
    authenticator: new Authenticator({ bootstrapToken: config.apiToken }),
    readyCacheMs: 0,
  });
  const confbulk = await createConfbulk({ config });
  const dlq = await openDeadLetters(config);
  const app = await buildApp({
    config,
    confbulk,
    deadLetters: dlq.deadLetters,
    metrics,
    logger: silentLogger,
    extraPlugins: ops.plugins,
  });
  try {
    await fn(app, config);
  } finally {
    await app.close();
    await ops.close();
    await confbulk.close();
    await dlq.close();
    const redis = testRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
}

describe('operations in the HTTP API', () => {
  it('documents /readyz and /metrics in the OpenAPI document', () =>
    withApi(async (app) => {
      const doc = (await app.inject('/openapi.json')).json<{
        paths: Record<string, Record<string, { summary?: string; tags?: string[] }>>;
      }>();
      expect(doc.paths['/readyz']?.get).toMatchObject({
        summary: expect.stringMatching(/^Readiness/),
        tags: ['operations'],
      });
      expect(doc.paths['/metrics']?.get).toMatchObject({
        summary: expect.stringMatching(/^Prometheus metrics/),
        tags: ['operations'],
      });
    }));

  it('serves /metrics behind a token, with queue depths', () =>
    withApi(async (app) => {
      expect((await app.inject('/metrics')).statusCode).toBe(401);
      const res = await app.inject({
        url: '/metrics',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('confbulk_queue_jobs{queue="updates.default",state="waiting"} 0');
      expect(res.body).toContain('confbulk_queue_jobs{queue="dead-letters",state="waiting"} 0');
    }));

  it('keeps its own /healthz and is ready only once a worker is connected', () =>
    withApi(async (app, config) => {
      expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
      const before = await app.inject('/readyz');
      expect(before.statusCode).toBe(503);
      expect(before.json().reasons).toEqual([
        expect.stringMatching(/^no worker is connected \(start one: (npx )?confbulk worker\)$/),
      ]);
      const worker = new Worker('updates.default', async () => {}, {
        connection: { url: config.redisUrl },
        prefix: queuePrefix(config.prefix, 'updates.default'),
      });
      await worker.waitUntilReady();
      try {
        expect((await app.inject('/readyz')).statusCode).toBe(200);
      } finally {
        await worker.close();
      }
    }));

  it('opens the dashboard with a login cookie that does not open /v1', () =>
    withApi(async (app) => {
      const login = await app.inject({
        method: 'POST',
        url: '/admin/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `token=${TOKEN}`,
      });
      expect(login.statusCode).toBe(303);
      const cookie = String(login.headers['set-cookie']).split(';')[0] as string;
      const queues = await app.inject({ url: '/admin/queues/api/queues', headers: { cookie } });
      expect(queues.statusCode).toBe(200);
      expect((await app.inject({ url: '/v1/batches', headers: { cookie } })).statusCode).toBe(401);
      const bearer = { authorization: `Bearer ${TOKEN}` };
      expect((await app.inject({ url: '/v1/batches', headers: bearer })).statusCode).toBe(200);
    }));

  it('keeps the dashboard out of the OpenAPI document', () =>
    withApi(async (app) => {
      const res = await app.inject('/openapi.json');
      expect(res.statusCode).toBe(200);
      const paths = Object.keys((res.json() as { paths: Record<string, unknown> }).paths);
      expect(paths.filter((p) => p.startsWith('/admin'))).toEqual([]);
    }));
});
