/**
 * What a shared deployment relies on besides the access matrix: mutating requests are
 * logged with who made them (never the token), dashboard logins are rate-limited and need
 * an admin of every space, revoking a token ends its sessions, the cookie is Secure behind
 * a trusted TLS-terminating proxy, and --insecure-local refuses a foreign Host header.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { CONFERENCE_SID, TOKEN, auth, withApi } from './fixture.js';

function form(token: string, remoteAddress = '203.0.113.7') {
  return {
    method: 'POST' as const,
    url: '/admin/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token }).toString(),
    remoteAddress,
  };
}

describe('audit log', () => {
  it('logs each mutating request once with the token id and name, route, space and batch id', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => void lines.push(line) },
    });
    await withApi(
      async ({ app, tokens }) => {
        const writer = await tokens.create({ name: 'ci pipeline', role: 'write' });
        const res = await app.inject({
          method: 'POST',
          url: '/v1/bulk-actions',
          headers: { authorization: `Bearer ${writer.token}` },
          payload: { action: 'mute', target: { conferenceSid: CONFERENCE_SID } },
        });
        expect(res.statusCode).toBe(202);
        const batchId = res.json<{ batch: { id: string } }>().batch.id;
        await app.inject({ method: 'GET', url: '/v1/batches', headers: auth });
        const refused = await app.inject({
          method: 'DELETE',
          url: '/v1/dead-letters',
          headers: { authorization: `Bearer ${writer.token}` },
          payload: { all: true },
        });
        expect(refused.statusCode).toBe(403);

        const audit = lines
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .filter((l) => l.msg === 'mutating request');
        expect(audit).toEqual([
          expect.objectContaining({
            tokenId: writer.id,
            tokenName: 'ci pipeline',
            method: 'POST',
            route: '/v1/bulk-actions',
            status: 202,
            space: 'default',
            batchId,
          }),
          expect.objectContaining({
            tokenId: writer.id,
            tokenName: 'ci pipeline',
            method: 'DELETE',
            route: '/v1/dead-letters',
            status: 403,
          }),
        ]);
        const all = lines.join('\n');
        expect(all).not.toContain(writer.token);
        expect(all).not.toContain(TOKEN);
      },
      { logger },
    );
  });
});

describe('dashboard login', () => {
  it('is rate-limited per address: the 11th attempt within a minute gets 429, another address is not affected', () =>
    withApi(
      async ({ app }) => {
        const statuses: number[] = [];
        for (let i = 0; i < 11; i++) statuses.push((await app.inject(form('wrong'))).statusCode);
        expect(statuses).toEqual([...Array(10).fill(401), 429]);
        // Even the right token waits out the window from that address.
        expect((await app.inject(form(TOKEN))).statusCode).toBe(429);
        expect((await app.inject(form(TOKEN, '198.51.100.9'))).statusCode).toBe(303);
      },
      { ops: true },
    ));

  it('needs an admin of every space, and a revoked token ends its session', () =>
    withApi(
      async ({ app, tokens }) => {
        const limited = await tokens.create({
          name: 'eu admin',
          role: 'admin',
          spaces: ['default'],
        });
        expect((await app.inject(form(limited.token))).statusCode).toBe(401);
        const writer = await tokens.create({ name: 'writer', role: 'write' });
        expect((await app.inject(form(writer.token))).statusCode).toBe(401);

        const admin = await tokens.create({ name: 'ops admin', role: 'admin' });
        const login = await app.inject(form(admin.token));
        expect(login.statusCode).toBe(303);
        const cookie = String(login.headers['set-cookie']).split(';')[0] as string;
        expect(cookie).toContain(`=${admin.id}.`);
        expect(cookie).not.toContain(admin.token);
        const url = '/admin/queues/api/queues';
        expect((await app.inject({ url, headers: { cookie } })).statusCode).toBe(200);
        await tokens.revoke(admin.id);
        expect((await app.inject({ url, headers: { cookie } })).statusCode).toBe(401);
      },
      { ops: true },
    ));

  it('sets a Secure cookie behind a trusted TLS-terminating proxy, and only then', async () => {
    const proto = { 'x-forwarded-proto': 'https' };
    const cookieOf = (res: { headers: Record<string, unknown> }) =>
      String(res.headers['set-cookie']);
    await withApi(
      async ({ app }) => {
        const res = await app.inject({
          ...form(TOKEN),
          headers: { ...form(TOKEN).headers, ...proto },
        });
        expect(cookieOf(res)).toMatch(/; Secure$/);
      },
      { ops: true, env: { CONFBULK_TRUST_PROXY: '203.0.113.0/24' } },
    );
    await withApi(
      async ({ app }) => {
        const res = await app.inject({
          ...form(TOKEN),
          headers: { ...form(TOKEN).headers, ...proto },
        });
        expect(res.statusCode).toBe(303);
        expect(cookieOf(res)).not.toContain('Secure');
      },
      { ops: true },
    );
  });
});

describe('--insecure-local', () => {
  it('serves requests addressed to a loopback name and refuses any other Host (DNS rebinding)', () =>
    withApi(
      async ({ app }) => {
        for (const host of ['127.0.0.1:3000', 'localhost:3000', '[::1]:3000', 'localhost']) {
          const res = await app.inject({ url: '/v1/batches', headers: { host } });
          expect({ host, status: res.statusCode }).toEqual({ host, status: 200 });
        }
        for (const host of [
          'attacker.example:3000',
          'localhost.attacker.example',
          '127.0.0.1.nip.io',
        ]) {
          const res = await app.inject({ url: '/v1/batches', headers: { host } });
          expect({ host, status: res.statusCode }).toEqual({ host, status: 421 });
          expect(res.json()).toMatchObject({ field: 'Host' });
        }
      },
      { env: { CONFBULK_API_TOKEN: '' }, insecureLocal: true },
    ));
});
