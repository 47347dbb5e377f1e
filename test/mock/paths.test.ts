import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMock, type MockAccount, type MockServer } from '../../src/mock/index.js';
import { authHeader } from './support.js';

describe('mock Compatibility API: path forms and bodies', () => {
  let mock: MockServer;
  let account: MockAccount;
  let headers: Record<string, string>;

  beforeEach(async () => {
    mock = await startMock({ rateLimit: null });
    account = mock.createAccount();
    headers = { authorization: authHeader(account.accountSid, account.token) };
  });

  afterEach(async () => {
    await mock.stop();
  });

  it('serves /api/laml/2010-04-01 and /2010-04-01, with and without .json, answering the documented URIs', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    const documented = `/api/laml/2010-04-01/Accounts/${account.accountSid}/Conferences/${sid}/Participants/${callSids[0]}.json`;
    for (const prefix of ['/api/laml/2010-04-01', '/2010-04-01']) {
      for (const suffix of ['', '.json']) {
        const path = `${prefix}/Accounts/${account.accountSid}/Conferences/${sid}/Participants/${callSids[0]}${suffix}`;
        const res = await fetch(`${mock.url}${path}`, { headers });
        expect(res.status, path).toBe(200);
        expect(((await res.json()) as { uri: string }).uri).toBe(documented);
        const list = await fetch(
          `${mock.url}${prefix}/Accounts/${account.accountSid}/Conferences/${sid}/Participants${suffix}?PageSize=1`,
          { headers },
        );
        const page = (await list.json()) as { next_page_uri: string | null; uri: string };
        expect(page.uri).toMatch(/^\/api\/laml\/2010-04-01\/.*Participants\.json\?/);
      }
    }
    for (const wrong of ['/2010-04-02', '/api/laml', '/laml/2010-04-01']) {
      const res = await fetch(`${mock.url}${wrong}/Accounts/${account.accountSid}.json`, {
        headers,
      });
      expect(res.status, wrong).toBe(404);
    }
  });

  it('takes an update as a form or as a JSON object of the same parameters', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2 });
    const url = (callSid: string) =>
      `${mock.url}/2010-04-01/Accounts/${account.accountSid}/Conferences/${sid}/Participants/${callSid}.json`;
    const [a, b] = callSids as [string, string];
    const form = await fetch(url(a), {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Muted=true&HoldUrl=https%3A%2F%2Fexample.com%2Fm.mp3&HoldMethod=POST&Hold=true',
    });
    expect(form.status).toBe(200);
    const json = await fetch(url(b), {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({
        Muted: true,
        Hold: true,
        HoldUrl: 'https://example.com/m.mp3',
        HoldMethod: 'POST',
      }),
    });
    expect(json.status).toBe(200);
    for (const callSid of [a, b]) {
      expect(mock.participant(callSid)).toMatchObject({
        muted: true,
        hold: true,
        holdUrl: 'https://example.com/m.mp3',
        holdMethod: 'POST',
      });
    }
    expect(mock.requestLog().map((e) => e.params?.Muted)).toEqual(['true', 'true']);

    const bad: [string, string][] = [
      ['application/json', '[1,2]'],
      ['application/json', '{"Muted":'],
      ['application/json', '{"Muted":{"x":1}}'],
      ['text/plain', 'Muted=true'],
    ];
    for (const [type, body] of bad) {
      const res = await fetch(url(a), {
        method: 'POST',
        headers: { ...headers, 'content-type': type },
        body,
      });
      expect(res.status, body).toBe(400);
      expect(await res.json()).toMatchObject({ status: 400, code: 10000 });
    }
  });
});
