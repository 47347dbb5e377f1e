import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMock, type MockAccount, type MockServer } from '../../src/mock/index.js';
import { mockApi } from './support.js';

describe('mock control API over HTTP', () => {
  let mock: MockServer;

  beforeEach(async () => {
    mock = await startMock();
  });

  afterEach(async () => {
    await mock.stop();
  });

  async function control(method: string, path: string, body?: unknown) {
    const res = await fetch(`${mock.url}/_mock${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    };
  }

  it('sets the scene: account, conference, participants, token rotation', async () => {
    expect((await control('GET', '/health')).body).toEqual({ ok: true });
    const created = await control('POST', '/accounts', {});
    expect(created.status).toBe(201);
    const account = created.body as unknown as MockAccount;
    expect(account.accountSid).toMatch(/^[0-9a-f-]{36}$/);
    expect(account.token.length).toBeGreaterThan(16);

    const conference = await control('POST', '/conferences', {
      accountSid: account.accountSid,
      participants: 4,
      friendlyName: 'standup',
      muted: 2,
    });
    expect(conference.status).toBe(201);
    const { sid, callSids } = conference.body as { sid: string; callSids: string[] };
    expect(callSids).toHaveLength(4);
    expect((await control('GET', `/conferences/${sid}`)).body).toMatchObject({
      friendlyName: 'standup',
      status: 'in-progress',
      participants: 4,
    });
    const participants = (await control('GET', `/conferences/${sid}/participants`)).body
      ?.participants as { muted: boolean }[];
    expect(participants.filter((p) => p.muted)).toHaveLength(2);
    expect((await mockApi(mock, account).get(`/Conferences/${sid}`)).status).toBe(200);

    expect(
      (await control('PUT', `/accounts/${account.accountSid}/token`, { token: 'new' })).status,
    ).toBe(204);
    expect((await mockApi(mock, account).get(`/Conferences/${sid}`)).status).toBe(401);

    expect((await control('POST', `/conferences/${sid}/leave`, { count: 1 })).status).toBe(202);
    expect((await control('GET', `/conferences/${sid}`)).body?.participants).toBe(3);
    expect((await control('POST', `/conferences/${sid}/complete`)).status).toBe(204);
    expect((await control('GET', `/conferences/${sid}`)).body?.status).toBe('completed');
    expect((await control('GET', `/participants/${callSids[0]}`)).body?.callSid).toBe(callSids[0]);
  });

  it('sets and clears faults and the rate limit, and reads counters and the log', async () => {
    const account = mock.createAccount();
    const faults = await control('PUT', '/faults', {
      latencyMs: 5,
      rejectCalls: { x: { status: 422, code: 21220 } },
    });
    expect(faults.body).toMatchObject({
      latencyMs: 5,
      rejectCalls: { x: { status: 422, code: 21220 } },
    });
    expect((await control('POST', '/faults/force429', { ms: 1000 })).status).toBe(204);
    expect((await control('GET', '/faults')).body?.force429RemainingMs).toBeGreaterThan(0);
    expect((await control('DELETE', '/faults')).body).toMatchObject({
      latencyMs: 0,
      rejectCalls: {},
      force429RemainingMs: 0,
    });
    expect((await control('POST', '/faults/outage', { ms: 1000, mode: 'reset' })).status).toBe(204);
    expect((await control('GET', '/faults')).body?.outage).toMatchObject({ mode: 'reset' });
    await control('DELETE', '/faults');

    const limit = await control('PUT', '/rate-limit', { limit: { count: 5, durationMs: 1000 } });
    expect(limit.body).toEqual({ default: { count: 5, durationMs: 1000 }, accounts: {} });
    expect((await control('PUT', '/rate-limit', { limit: null })).body?.default).toBeNull();

    const since = performance.timeOrigin + performance.now();
    await mockApi(mock, account).get('');
    expect((await control('GET', '/counters')).body).toMatchObject({
      requests: 1,
      byStatus: { 200: 1 },
    });
    const log = (await control('GET', `/log?since=${since}`)).body?.entries as { method: string }[];
    expect(log.map((e) => e.method)).toEqual(['GET']);
    expect((await control('DELETE', '/log')).status).toBe(204);
    expect((await control('GET', '/log')).body?.entries).toEqual([]);
  });

  it('answers bad input 400 and unknown things 404, naming what is wrong', async () => {
    const badRate = await control('PUT', '/faults', { errorRate: 2 });
    expect(badRate.status).toBe(400);
    expect(badRate.body?.error).toContain('errorRate');
    const badMode = await control('POST', '/faults/outage', { ms: 10, mode: 'flaky' });
    expect(badMode.status).toBe(400);
    expect(badMode.body?.error).toContain('mode');
    const noAccount = await control('POST', '/conferences', {
      accountSid: 'nope',
      participants: 1,
    });
    expect(noAccount.status).toBe(404);
    const notJson = await fetch(`${mock.url}/_mock/accounts`, { method: 'POST', body: '[1' });
    expect(notJson.status).toBe(400);
    expect((await control('GET', '/nothing')).status).toBe(404);
    expect((await control('GET', '/log?since=yesterday')).status).toBe(400);
  });
});
