/**
 * The dashboard's access rules: the API token as a bearer header, or a session cookie
 * obtained by logging in with it; the cookie is an HMAC (never the token), HttpOnly,
 * SameSite=Strict and scoped to /admin.
 */
import { fastify, type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/auth/authenticator.js';
import { dashboardPlugin } from '../../src/ops/dashboard/plugin.js';
import { SESSION_COOKIE, createSession, verifySession } from '../../src/ops/dashboard/session.js';
import { openOpsQueues } from '../../src/ops/queues.js';
import { withRedis } from '../helpers/redis.js';

const TOKEN = 'test-api-token-0123456789';

async function withDashboard(fn: (app: FastifyInstance) => Promise<void>): Promise<void> {
  await withRedis(async (redis, prefix) => {
    const queues = openOpsQueues({ connection: redis, prefix, spaces: ['default'] });
    const app = fastify();
    await app.register(
      dashboardPlugin({
        queues: queues.all,
        authenticator: new Authenticator({ bootstrapToken: TOKEN }),
      }),
    );
    try {
      await fn(app);
    } finally {
      await app.close();
      await queues.close();
    }
  });
}

async function login(app: FastifyInstance, token: string) {
  return app.inject({
    method: 'POST',
    url: '/admin/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token }).toString(),
  });
}

describe('dashboard sessions', () => {
  it('accept only the key they were made with, for the token id they name, until they expire', () => {
    const now = Date.now();
    const session = createSession(TOKEN, 'bootstrap', now, 60_000);
    expect(session).not.toContain(TOKEN);
    expect(verifySession(TOKEN, session, now + 1000)).toBe('bootstrap');
    expect(verifySession('another-token', session, now + 1000)).toBeUndefined();
    expect(verifySession(TOKEN, session, now + 60_001)).toBeUndefined();
    const [id, expiry, mac] = session.split('.');
    expect(verifySession(TOKEN, `${id}.${Number(expiry) + 1}.${mac}`, now)).toBeUndefined();
    expect(verifySession(TOKEN, `othertoken12.${expiry}.${mac}`, now)).toBeUndefined();
  });
});

describe('dashboardPlugin', () => {
  it('refuses to exist without a token', () => {
    expect(() =>
      dashboardPlugin({ queues: [], authenticator: new Authenticator({ bootstrapToken: '' }) }),
    ).toThrow(/`authenticator`/);
  });

  it('sends a browser without a session to the login form', () =>
    withDashboard(async (app) => {
      const res = await app.inject({ url: '/admin/queues', headers: { accept: 'text/html' } });
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe('/admin/login');
      const form = await app.inject('/admin/login');
      expect(form.statusCode).toBe(200);
      expect(form.body).toContain('<form method="post" action="/admin/login">');
    }));

  it('answers 401 to API calls without credentials or with a wrong token', () =>
    withDashboard(async (app) => {
      expect((await app.inject('/admin/queues/api/queues')).statusCode).toBe(401);
      const wrong = await app.inject({
        url: '/admin/queues/api/queues',
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.statusCode).toBe(401);
    }));

  it('lists the queues to a bearer token', () =>
    withDashboard(async (app) => {
      const res = await app.inject({
        url: '/admin/queues/api/queues',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.statusCode).toBe(200);
      const names = (res.json() as { queues: { name: string }[] }).queues.map((q) => q.name);
      expect(names.sort()).toEqual([
        'dead-letters',
        'fanout',
        'schedules',
        'updates.default',
        'webhooks',
      ]);
      // The dead-letter queue has no consumer by design: no "No workers" alarm on it.
      const dlq = (
        res.json() as { queues: { name: string; hasWorkers?: unknown; description?: string }[] }
      ).queues.find((q) => q.name === 'dead-letters');
      expect(dlq?.hasWorkers ?? null).toBeNull();
      expect(dlq?.description).toMatch(/No worker consumes this queue, by design/);
    }));

  it('refuses a wrong token at login and sets no cookie', () =>
    withDashboard(async (app) => {
      const res = await login(app, 'wrong-token');
      expect(res.statusCode).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.body).toContain('That is not an admin token of every space.');
    }));

  it('trades the token for an HttpOnly, SameSite=Strict cookie scoped to /admin', () =>
    withDashboard(async (app) => {
      const res = await login(app, TOKEN);
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/admin/queues');
      const setCookie = String(res.headers['set-cookie']);
      expect(setCookie).not.toContain(TOKEN);
      expect(setCookie).toMatch(
        new RegExp(`^${SESSION_COOKIE}=bootstrap\\.\\d+\\.[A-Za-z0-9_-]+;`),
      );
      expect(setCookie).toContain('HttpOnly');
      expect(setCookie).toContain('SameSite=Strict');
      expect(setCookie).toContain('Path=/admin');

      const cookie = setCookie.split(';')[0] as string;
      const page = await app.inject({
        url: '/admin/queues',
        headers: { cookie, accept: 'text/html' },
      });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('<html');
      const api = await app.inject({ url: '/admin/queues/api/queues', headers: { cookie } });
      expect(api.statusCode).toBe(200);

      const logout = await app.inject({ url: '/admin/logout', headers: { cookie } });
      expect(logout.statusCode).toBe(303);
      expect(String(logout.headers['set-cookie'])).toContain('Max-Age=0');
    }));

  it('rejects a forged cookie', () =>
    withDashboard(async (app) => {
      const forged = `${SESSION_COOKIE}=${createSession('guessed-token', 'bootstrap')}`;
      const res = await app.inject({
        url: '/admin/queues/api/queues',
        headers: { cookie: forged },
      });
      expect(res.statusCode).toBe(401);
    }));
});
