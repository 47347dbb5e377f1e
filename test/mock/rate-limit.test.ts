import { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  SlidingWindow,
  withMock,
  type MockAccount,
  type MockServer,
} from '../../src/mock/index.js';
import { authHeader } from './support.js';

describe('SlidingWindow', () => {
  it('allows `count` requests in (now - duration, now] and frees slots one by one', () => {
    const window = new SlidingWindow({ count: 3, durationMs: 100 });
    expect([0, 10, 20].map((t) => window.tryAcquire(t))).toEqual([true, true, true]);
    expect(window.tryAcquire(50)).toBe(false);
    expect(window.state(50)).toEqual({ limit: 3, remaining: 0, resetAt: 100, retryAfterMs: 50 });
    expect(window.tryAcquire(99.9)).toBe(false);
    // The stamp at 0 leaves the window at exactly 100.
    expect(window.tryAcquire(100)).toBe(true);
    expect(window.tryAcquire(105)).toBe(false);
    expect(window.tryAcquire(110)).toBe(true);
    expect(window.state(110)).toMatchObject({ remaining: 0, resetAt: 120 });
  });

  it('does not count rejected requests', () => {
    const window = new SlidingWindow({ count: 2, durationMs: 100 });
    window.tryAcquire(0);
    window.tryAcquire(1);
    for (let t = 2; t < 100; t++) expect(window.tryAcquire(t)).toBe(false);
    expect(window.tryAcquire(100)).toBe(true);
    expect(window.tryAcquire(101)).toBe(true);
    expect(window.state(250)).toMatchObject({ remaining: 2, retryAfterMs: 0, resetAt: 250 });
  });
});

/**
 * A pool whose sockets are connected before the burst, and which pipelines POSTs, so a
 * burst reaches the server within a few milliseconds even on a busy machine.
 */
async function burstPool(
  mock: MockServer,
  account: MockAccount,
  connections: number,
): Promise<Pool> {
  const pool = new Pool(mock.url, { connections, pipelining: 32 });
  const path = `/api/laml/2010-04-01/Accounts/${account.accountSid}.json`;
  const headers = { authorization: authHeader(account.accountSid, account.token) };
  await Promise.all(
    Array.from({ length: connections }, () =>
      pool.request({ path, method: 'GET', headers, blocking: true }).then((r) => r.body.dump()),
    ),
  );
  return pool;
}

async function postMuted(pool: Pool, account: MockAccount, conferenceSid: string, callSid: string) {
  const res = await pool.request({
    path: `/api/laml/2010-04-01/Accounts/${account.accountSid}/Conferences/${conferenceSid}/Participants/${callSid}.json`,
    method: 'POST',
    headers: {
      authorization: authHeader(account.accountSid, account.token),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'Muted=true',
    // Let undici pipeline the POSTs: the test wants them all in flight at once.
    idempotent: true,
    blocking: false,
  });
  const body = (await res.body.json()) as Record<string, unknown>;
  return { status: res.statusCode, headers: res.headers, body };
}

/** The statuses a sliding window of `count` per `durationMs` owes requests arriving at `arrivals`. */
function slidingWindowModel(arrivals: number[], count: number, durationMs: number): number[] {
  const accepted: number[] = [];
  return arrivals.map((t) => {
    if (accepted.filter((a) => a > t - durationMs).length >= count) return 429;
    accepted.push(t);
    return 200;
  });
}

describe('mock Compatibility API: rate limit', () => {
  it('accepts exactly `count` POSTs of a burst, 429s the rest, then accepts again (Retry-After and reset on)', async () => {
    await withMock(
      async (mock) => {
        const account = mock.createAccount();
        const { sid, callSids } = mock.createConference(account.accountSid, { participants: 80 });
        const pool = await burstPool(mock, account, 4);
        try {
          const answers = await Promise.all(callSids.map((c) => postMuted(pool, account, sid, c)));
          const posts = mock.requestLog().filter((e) => e.method === 'POST');
          // Every decision is the window's, whatever the arrival times turned out to be.
          expect(posts.map((e) => e.status)).toEqual(
            slidingWindowModel(
              posts.map((e) => e.t),
              50,
              500,
            ),
          );
          const accepted = answers.filter((a) => a.status === 200);
          const rejected = answers.filter((a) => a.status === 429);
          expect(accepted.length + rejected.length).toBe(80);
          expect(rejected.length).toBeGreaterThan(0);
          expect(mock.counters()).toMatchObject({
            acceptedPosts: accepted.length,
            rateLimited: rejected.length,
          });
          expect(mock.participants(sid).filter((p) => p.muted)).toHaveLength(accepted.length);
          // Pipelined, the burst arrives within a few ms; only a machine stalled for half a
          // second spreads it over more than one window, and then the split is not 50/30.
          const spreadMs = (posts.at(-1)?.t ?? 0) - (posts[0]?.t ?? 0);
          if (spreadMs < 500) {
            expect(accepted).toHaveLength(50);
            expect(rejected).toHaveLength(30);
            const remaining = accepted.map((a) => Number(a.headers['x-ratelimit-remaining']));
            expect(remaining.sort((x, y) => x - y)).toEqual(
              Array.from({ length: 50 }, (_, i) => i),
            );
          }
          const nowSeconds = Date.now() / 1000;
          for (const a of [...accepted, ...rejected]) {
            expect(a.headers['x-ratelimit-limit']).toBe('50');
            const reset = Number(a.headers['x-ratelimit-reset']);
            expect(reset).toBeGreaterThanOrEqual(Math.floor(nowSeconds));
            expect(reset).toBeLessThanOrEqual(Math.ceil(nowSeconds) + 2);
          }
          for (const r of rejected) {
            expect(r.body).toMatchObject({
              code: 20429,
              message: 'Too Many Requests',
              status: 429,
            });
            expect(r.headers['retry-after']).toBe('1');
            expect(r.headers['x-ratelimit-remaining']).toBe('0');
          }

          await new Promise((r) => setTimeout(r, 550));
          const again = await postMuted(pool, account, sid, callSids[0] as string);
          expect(again.status).toBe(200);
          expect(Number(again.headers['x-ratelimit-remaining'])).toBe(49);
        } finally {
          await pool.close();
        }
      },
      {
        rateLimit: { count: 50, durationMs: 500 },
        retryAfter: 'seconds',
        rateLimitReset: 'epoch-seconds',
      },
    );
  });

  it('by default sends what SignalWire documents: limit and remaining, no Retry-After nor reset', async () => {
    await withMock(
      async (mock) => {
        const account = mock.createAccount();
        const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
        const url = `${mock.apiUrl}/Accounts/${account.accountSid}/Conferences/${sid}/Participants/${callSids[0]}.json`;
        const init = {
          method: 'POST',
          headers: { authorization: authHeader(account.accountSid, account.token) },
          body: new URLSearchParams({ Muted: 'true' }),
        };
        const accepted = await fetch(url, init);
        const rejected = await fetch(url, init);
        expect([accepted.status, rejected.status]).toEqual([200, 429]);
        for (const [res, remaining] of [
          [accepted, '0'],
          [rejected, '0'],
        ] as const) {
          expect(res.headers.get('x-ratelimit-limit')).toBe('1');
          expect(res.headers.get('x-ratelimit-remaining')).toBe(remaining);
          expect(res.headers.get('x-ratelimit-reset')).toBeNull();
          expect(res.headers.get('retry-after')).toBeNull();
        }
        expect(await rejected.json()).toMatchObject({ code: 20429, status: 429 });
      },
      { rateLimit: { count: 1, durationMs: 60_000 } },
    );
  });

  it('can answer 429 with no header at all', async () => {
    await withMock(
      async (mock) => {
        const account = mock.createAccount();
        const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
        const url = `${mock.apiUrl}/Accounts/${account.accountSid}/Conferences/${sid}/Participants/${callSids[0]}`;
        const init = {
          method: 'POST',
          headers: { authorization: authHeader(account.accountSid, account.token) },
          body: new URLSearchParams({ Muted: 'true' }),
        };
        expect((await fetch(url, init)).headers.get('x-ratelimit-remaining')).toBe('0');
        const rejected = await fetch(url, init);
        expect(rejected.status).toBe(429);
        const names = [...rejected.headers.keys()];
        expect(names.filter((n) => /ratelimit|retry-after/.test(n))).toEqual([]);
      },
      { rateLimit: { count: 1, durationMs: 60_000 }, headersOn429: 'none', retryAfter: 'seconds' },
    );
  });

  it('does not limit GET or DELETE, but reports the window on them', async () => {
    await withMock(
      async (mock) => {
        const account = mock.createAccount();
        const { sid, callSids } = mock.createConference(account.accountSid, { participants: 5 });
        const base = `${mock.apiUrl}/Accounts/${account.accountSid}/Conferences/${sid}/Participants`;
        const headers = { authorization: authHeader(account.accountSid, account.token) };
        const post = () =>
          fetch(`${base}/${callSids[0]}`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
            body: 'Hold=true',
          });
        expect((await post()).status).toBe(200);
        expect((await post()).status).toBe(429);
        for (let i = 0; i < 5; i++) {
          const res = await fetch(base, { headers });
          expect(res.status).toBe(200);
          expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
        }
        expect((await fetch(`${base}/${callSids[1]}`, { method: 'DELETE', headers })).status).toBe(
          204,
        );
      },
      { rateLimit: { count: 1, durationMs: 10_000 } },
    );
  });

  it('forces 429s on demand, with an HTTP-date Retry-After when configured', async () => {
    await withMock(
      async (mock) => {
        const account = mock.createAccount();
        const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
        const url = `${mock.apiUrl}/Accounts/${account.accountSid}/Conferences/${sid}/Participants/${callSids[0]}`;
        const init = {
          method: 'POST',
          headers: {
            authorization: authHeader(account.accountSid, account.token),
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: 'Muted=true',
        };
        mock.force429(3000);
        const res = await fetch(url, init);
        expect(res.status).toBe(429);
        const retryAt = Date.parse(res.headers.get('retry-after') ?? '');
        expect(retryAt - Date.now()).toBeGreaterThan(1000);
        expect(retryAt - Date.now()).toBeLessThanOrEqual(4000);
        expect(res.headers.get('x-ratelimit-limit')).toBeNull();
        mock.clearFaults();
        expect((await fetch(url, init)).status).toBe(200);
      },
      { rateLimit: null, retryAfter: 'http-date' },
    );
  });

  it('changes the limit of one account at runtime', async () => {
    await withMock(async (mock) => {
      const a = mock.createAccount();
      const b = mock.createAccount();
      mock.setRateLimit({ count: 1, durationMs: 60_000 }, a.accountSid);
      const post = async (account: MockAccount) => {
        const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
        const res = await fetch(
          `${mock.apiUrl}/Accounts/${account.accountSid}/Conferences/${sid}/Participants/${callSids[0]}`,
          {
            method: 'POST',
            headers: { authorization: authHeader(account.accountSid, account.token) },
            body: new URLSearchParams({ Muted: 'true' }),
          },
        );
        return res;
      };
      expect((await post(a)).status).toBe(200);
      expect((await post(a)).status).toBe(429);
      const other = await post(b);
      expect(other.status).toBe(200);
      expect(other.headers.get('x-ratelimit-limit')).toBe('13800');
      expect(mock.rateLimits()).toEqual({
        default: { count: 13_800, durationMs: 10_000 },
        accounts: { [a.accountSid]: { count: 1, durationMs: 60_000 } },
      });
      expect(() => mock.setRateLimit({ count: 0, durationMs: 1000 })).toThrow(/limit.count/);
    });
  });
});
