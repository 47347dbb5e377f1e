import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startApiServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis.js';
import { auth, testEnv } from './fixture.js';

describe('startApiServer', () => {
  it('listens with the operations plugins mounted, and closes everything', async () => {
    const prefix = uniquePrefix();
    const config = loadConfig(testEnv(prefix));
    const server = await startApiServer({
      config,
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger,
      handleSignals: false,
    });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/v1/batches`)).status).toBe(401);
      const batches = await fetch(`${server.url}/v1/batches`, { headers: auth });
      expect(await batches.json()).toEqual({ batches: [] });
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      const metrics = await fetch(`${server.url}/metrics`, { headers: auth });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('confbulk_');
      // No worker runs: the API is alive but not ready.
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    } finally {
      await server.close();
      const redis = testRedis();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
    await server.closed;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
