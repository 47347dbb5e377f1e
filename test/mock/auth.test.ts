import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mockSpaceProfile, startMock, type MockServer } from '../../src/mock/index.js';
import { authHeader, mockApi } from './support.js';

describe('mock Compatibility API: authentication and paths', () => {
  let mock: MockServer;

  beforeEach(async () => {
    mock = await startMock();
  });

  afterEach(async () => {
    await mock.stop();
  });

  const AUTH_ERROR = {
    code: 20003,
    message: 'Authentication Error - invalid username',
    more_info: expect.stringMatching(/^https:\/\//) as unknown,
    status: 401,
  };

  it('answers 401 with a SignalWire error body for a missing or wrong token', async () => {
    const account = mock.createAccount();
    const { sid } = mock.createConference(account.accountSid, { participants: 1 });
    const url = `${mock.apiUrl}/Accounts/${account.accountSid}/Conferences/${sid}.json`;

    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual(AUTH_ERROR);

    const wrong = await fetch(url, {
      headers: { authorization: authHeader(account.accountSid, 'not-the-token') },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual(AUTH_ERROR);

    const right = await mockApi(mock, account).get(`/Conferences/${sid}`);
    expect(right.status).toBe(200);
  });

  it("refuses another account's credentials for an account's path", async () => {
    const owner = mock.createAccount();
    const other = mock.createAccount();
    const { sid } = mock.createConference(owner.accountSid, { participants: 1 });
    const res = await fetch(`${mock.apiUrl}/Accounts/${owner.accountSid}/Conferences/${sid}`, {
      headers: { authorization: authHeader(other.accountSid, other.token) },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(AUTH_ERROR);
    // Its own account path does not reveal the other account's conference either.
    const own = await mockApi(mock, other).get(`/Conferences/${sid}.json`);
    expect(own.status).toBe(404);
    expect(own.json?.code).toBe(20404);
  });

  it('answers the old token 401 after setToken, and the new one 200', async () => {
    const account = mock.createAccount({ token: 'first-token' });
    const { sid } = mock.createConference(account.accountSid, { participants: 1 });
    mock.setToken(account.accountSid, 'second-token');
    const old = await mockApi(mock, account).get(`/Conferences/${sid}`);
    expect(old.status).toBe(401);
    const fresh = await mockApi(mock, { ...account, token: 'second-token' }).get(
      `/Conferences/${sid}`,
    );
    expect(fresh.status).toBe(200);
  });

  it('serves every path with and without the .json suffix', async () => {
    const account = mock.createAccount();
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2 });
    const api = mockApi(mock, account);
    const callSid = callSids[0] as string;
    for (const suffix of ['', '.json']) {
      expect((await api.get(suffix)).status).toBe(200);
      expect((await api.get(`/Conferences${suffix}`)).json?.conferences).toHaveLength(1);
      expect((await api.get(`/Conferences/${sid}${suffix}`)).json?.sid).toBe(sid);
      expect(
        (await api.get(`/Conferences/${sid}/Participants${suffix}`)).json?.participants,
      ).toHaveLength(2);
      expect((await api.get(api.participantPath(sid, callSid, suffix))).json?.call_sid).toBe(
        callSid,
      );
      const updated = await api.post(api.participantPath(sid, callSid, suffix), { Muted: 'true' });
      expect(updated.json?.muted).toBe(true);
    }
    expect((await api.get(`/Conferences/${sid}/Nope`)).status).toBe(404);
  });

  it('builds a space profile that points at the mock', () => {
    const account = mock.createAccount();
    expect(mockSpaceProfile(mock, account, 'eu')).toEqual({
      name: 'eu',
      spaceUrl: mock.url,
      projectId: account.accountSid,
      apiToken: account.token,
    });
    expect(mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(mock.apiUrl).toBe(`${mock.url}/api/laml/2010-04-01`);
    expect(account.accountSid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('stops idempotently, closing keep-alive connections', async () => {
    const account = mock.createAccount();
    expect((await mockApi(mock, account).get('')).status).toBe(200);
    await Promise.all([mock.stop(), mock.stop()]);
    await mock.stop();
    await expect(fetch(`${mock.url}/_mock/health`)).rejects.toThrow();
  });
});
