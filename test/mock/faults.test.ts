import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMock, type MockAccount, type MockServer } from '../../src/mock/index.js';
import { mockApi, type MockApi } from './support.js';

describe('mock Compatibility API: faults, departures and the request log', () => {
  let mock: MockServer;
  let account: MockAccount;
  let api: MockApi;

  beforeEach(async () => {
    mock = await startMock();
    account = mock.createAccount();
    api = mockApi(mock, account);
  });

  afterEach(async () => {
    await mock.stop();
  });

  it('resets sockets without an answer during a reset outage, then recovers', async () => {
    const { sid } = mock.createConference(account.accountSid, { participants: 1 });
    mock.outage(60_000, 'reset');
    const failure = await api.get(`/Conferences/${sid}`).then(
      () => undefined,
      (err: unknown) => err as Error & { cause?: { code?: string } },
    );
    expect(failure).toBeInstanceOf(TypeError);
    expect(failure?.cause?.code).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
    expect(mock.counters().resets).toBe(1);
    expect(mock.requestLog()[0]?.status).toBe(0);
    mock.clearFaults();
    expect((await api.get(`/Conferences/${sid}`)).status).toBe(200);
  });

  it('answers every request 503 during a 503 outage, and nothing once it is over', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    mock.outage(60_000, '503');
    const path = api.participantPath(sid, callSids[0] as string);
    expect((await api.get(path)).status).toBe(503);
    const post = await api.post(path, { Muted: 'true' });
    expect(post.status).toBe(503);
    expect(post.json).toMatchObject({ code: 20504, status: 503 });
    expect(mock.participant(callSids[0] as string)?.muted).toBe(false);
    expect(mock.faults().outage?.mode).toBe('503');
    mock.outage(50, '503');
    await new Promise((r) => setTimeout(r, 100));
    expect(mock.faults().outage).toBeNull();
    expect((await api.get(path)).status).toBe(200);
  });

  it('answers 502 with an HTML body that is not JSON', async () => {
    mock.setFaults({ errorRate: 1, errorStatuses: [502] });
    const res = await api.get('/Conferences');
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(res.json).toBeUndefined();
    expect(res.text).toContain('Bad Gateway');
  });

  it('answers 500/503 with full, partial or cut-off bodies, and applies none by default', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    mock.setFaults({ errorRate: 1, errorStatuses: [500, 503] });
    const bodies = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const res = await api.post(api.participantPath(sid, callSids[0] as string), {
        Muted: 'true',
      });
      expect([500, 503]).toContain(res.status);
      if (res.json === undefined) bodies.add('cut');
      else if (res.json.code === 20504) bodies.add('full');
      else bodies.add('partial');
    }
    expect([...bodies].sort()).toEqual(['cut', 'full', 'partial']);
    expect(mock.participant(callSids[0] as string)?.updates).toBe(0);
    expect(mock.counters().acceptedPosts).toBe(40);
  });

  it('applies failing updates before answering the error when asked to', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    mock.setFaults({ errorRate: 1, errorStatuses: [500], errorAfterApplyRate: 1 });
    const res = await api.post(api.participantPath(sid, callSids[0] as string), {
      AnnounceUrl: 'https://example.com/a.xml',
    });
    expect(res.status).toBe(500);
    expect(mock.participant(callSids[0] as string)?.announcements).toBe(1);
  });

  it('delays answers by latency plus jitter, after counting the request', async () => {
    mock.setFaults({ latencyMs: 150, jitterMs: 50 });
    const started = performance.now();
    const res = await api.get('');
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(145);
    const answeredAt = performance.timeOrigin + performance.now();
    const arrivedAt = mock.requestLog()[0]?.t ?? Infinity;
    expect(answeredAt - arrivedAt).toBeGreaterThanOrEqual(145);
    expect(mock.faults()).toMatchObject({ latencyMs: 150, jitterMs: 50 });
  });

  it('lets participants leave over time; later updates of them get 422 (code 10000)', async () => {
    const { sid } = mock.createConference(account.accountSid, { participants: 20 });
    const handle = mock.leave({ conferenceSid: sid, count: 8, overMs: 200 });
    expect(handle.callSids).toHaveLength(8);
    expect(new Set(handle.callSids).size).toBe(8);
    expect(mock.conference(sid)?.participants).toBeGreaterThan(12);
    await handle.done;
    expect(mock.conference(sid)?.participants).toBe(12);
    for (const callSid of handle.callSids) {
      const res = await api.post(api.participantPath(sid, callSid), { Muted: 'true' });
      expect(res.json).toMatchObject({ status: 422, code: 10000 });
      expect(mock.participant(callSid)?.gone).toBe('left');
    }
    const list = await api.get(`/Conferences/${sid}/Participants`);
    expect(list.json?.participants).toHaveLength(12);
  });

  it('never picks a participant told to stay', () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 5 });
    const [host, ...others] = callSids as [string, ...string[]];
    const handle = mock.leave({ conferenceSid: sid, count: 4, stay: [host] });
    expect(handle.callSids.sort()).toEqual([...others].sort());
    expect(mock.participant(host)?.gone).toBeNull();
    expect(() => mock.leave({ conferenceSid: sid, count: 1, stay: [host] })).toThrow(/count/);
  });

  it('logs every request with its arrival time, params and answer, filtered by since', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2 });
    const before = performance.timeOrigin + performance.now();
    await api.post(api.participantPath(sid, callSids[0] as string), {
      Muted: 'true',
      Hold: 'false',
    });
    const middle = performance.timeOrigin + performance.now();
    await api.get(`/Conferences/${sid}/Participants?Muted=true`);
    await fetch(`${mock.apiUrl}/Accounts/${account.accountSid}.json`);
    const log = mock.requestLog();
    expect(log.map((e) => [e.method, e.status])).toEqual([
      ['POST', 200],
      ['GET', 200],
      ['GET', 401],
    ]);
    expect(log[0]).toMatchObject({
      callSid: callSids[0],
      accountSid: account.accountSid,
      params: { Muted: 'true', Hold: 'false' },
      path: `/api/laml/2010-04-01/Accounts/${account.accountSid}/Conferences/${sid}/Participants/${callSids[0]}.json`,
    });
    expect(log[0]?.t).toBeGreaterThanOrEqual(before);
    expect(log[0]?.t).toBeLessThanOrEqual(middle);
    expect(log[1]?.params).toEqual({ Muted: 'true' });
    expect(log[2]?.accountSid).toBeNull();
    expect(mock.requestLog(middle).map((e) => e.method)).toEqual(['GET', 'GET']);
    expect(mock.counters()).toMatchObject({
      requests: 3,
      byMethod: { POST: 1, GET: 2 },
      byStatus: { 200: 2, 401: 1 },
    });
    mock.resetLog();
    expect(mock.requestLog()).toEqual([]);
    expect(mock.counters().requests).toBe(0);
  });
});

describe('request log capacity', () => {
  it('keeps the newest entries and counts those dropped', async () => {
    const mock = await startMock({ requestLogCapacity: 3 });
    try {
      for (let i = 0; i < 5; i++) await fetch(`${mock.apiUrl}/Accounts/x${i}`);
      expect(mock.requestLog().map((e) => e.path)).toEqual(
        [2, 3, 4].map((i) => `/api/laml/2010-04-01/Accounts/x${i}`),
      );
      expect(mock.counters()).toMatchObject({ requests: 5, droppedLogEntries: 2 });
    } finally {
      await mock.stop();
    }
  });
});
