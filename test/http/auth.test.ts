import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { checkApiSecurity, isLoopbackHost } from '../../src/http/auth.js';
import { buildApp } from '../../src/http/app.js';
import { startApiServer } from '../../src/http/server.js';
import type { DeadLetterStore } from '../../src/http/dependencies.js';
import { silentLogger } from '../../src/logger.js';
import type { Confbulk } from '../../src/types.js';
import { uniquePrefix } from '../helpers/redis.js';
import { CONFERENCE_SID, testEnv, TOKEN, withApi } from './fixture.js';

const ROUTES = [
  { method: 'GET', url: '/v1/batches' },
  { method: 'GET', url: '/v1/batches/b-1' },
  {
    method: 'POST',
    url: '/v1/bulk-actions',
    payload: { action: 'mute', target: { conferenceSid: CONFERENCE_SID } },
  },
  { method: 'GET', url: '/v1/dead-letters' },
  { method: 'POST', url: '/v1/dead-letters/replay', payload: { all: true } },
  { method: 'DELETE', url: '/v1/dead-letters', payload: { all: true } },
  { method: 'GET', url: '/v1/schedules' },
  { method: 'DELETE', url: '/v1/schedules/nightly' },
] as const;

const WRONG = [
  {},
  { authorization: `Bearer ${TOKEN}x` },
  { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
  { authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` },
  { authorization: TOKEN },
  { authorization: 'Bearer ' },
];

describe('bearer-token authentication', () => {
  it('refuses every /v1 route without the right token (401) and enqueues nothing', async () => {
    await withApi(async ({ app, workKeys }) => {
      for (const route of ROUTES) {
        for (const headers of WRONG) {
          const res = await app.inject({ ...route, headers });
          expect({ route: route.url, headers, status: res.statusCode }).toEqual({
            route: route.url,
            headers,
            status: 401,
          });
          expect(res.headers['www-authenticate']).toBe('Bearer');
          expect(res.json<{ error: string; message: string }>()).toMatchObject({
            error: 'Unauthorized',
          });
          expect(res.body).not.toContain(TOKEN);
        }
      }
      expect(await workKeys()).toEqual([]);
      const ok = await app.inject({
        method: 'GET',
        url: '/v1/batches',
        headers: { authorization: `bearer ${TOKEN}` },
      });
      expect(ok.statusCode).toBe(200);
    });
  });

  it('serves /healthz and /openapi.json without a token', async () => {
    await withApi(async ({ app }) => {
      const health = await app.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toEqual({ status: 'ok' });
      expect((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200);
    });
  });

  it('serves without a token when built insecure-local', async () => {
    await withApi(
      async ({ app }) => {
        expect((await app.inject({ method: 'GET', url: '/v1/batches' })).statusCode).toBe(200);
      },
      { env: { CONFBULK_API_TOKEN: '' }, insecureLocal: true },
    );
  });
});

describe('refusing to start without a token', () => {
  it('allows no token only with insecure-local on a loopback host', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]']) {
      expect(isLoopbackHost(host), host).toBe(true);
      expect(() => checkApiSecurity({ token: undefined, host, insecureLocal: true })).not.toThrow();
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'api.example.com', '127.example.com']) {
      expect(isLoopbackHost(host), host).toBe(false);
      expect(() => checkApiSecurity({ token: undefined, host, insecureLocal: true })).toThrow(
        expect.objectContaining({
          name: 'ConfigError',
          field: 'CONFBULK_API_TOKEN',
          message: expect.stringContaining(host),
        }),
      );
    }
    expect(() => checkApiSecurity({ token: undefined, host: '127.0.0.1' })).toThrow(
      /CONFBULK_API_TOKEN is not set.*--insecure-local/,
    );
    expect(() => checkApiSecurity({ token: 'short', host: '0.0.0.0' })).toThrow(
      /at least 16 characters/,
    );
    expect(() => checkApiSecurity({ token: TOKEN, host: '0.0.0.0' })).not.toThrow();
  });

  it('startApiServer rejects a non-loopback host without a token before opening anything', async () => {
    const config = loadConfig(testEnv(uniquePrefix(), { CONFBULK_API_TOKEN: '' }));
    await expect(
      startApiServer({
        config,
        host: '0.0.0.0',
        port: 0,
        insecureLocal: true,
        logger: silentLogger,
        handleSignals: false,
      }),
    ).rejects.toMatchObject({ name: 'ConfigError', field: 'CONFBULK_API_TOKEN' });
    await expect(
      startApiServer({
        config,
        host: '127.0.0.1',
        port: 0,
        logger: silentLogger,
        handleSignals: false,
      }),
    ).rejects.toThrow(/CONFBULK_API_TOKEN is not set/);
  });

  it('buildApp refuses to build an open app unless told it is insecure-local', async () => {
    const config = loadConfig(testEnv(uniquePrefix(), { CONFBULK_API_TOKEN: '' }));
    const unused = {} as Confbulk;
    await expect(
      buildApp({
        config,
        confbulk: unused,
        deadLetters: {} as DeadLetterStore,
        logger: silentLogger,
      }),
    ).rejects.toMatchObject({ name: 'ConfigError', field: 'CONFBULK_API_TOKEN' });
  });
});
