/**
 * A minimal client of the mock for its own tests: raw fetch, so the tests see exactly
 * what the mock answers (statuses, headers, bodies), not what a client library makes of it.
 */
import type { MockAccount, MockServer } from '../../src/mock/index.js';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
}

export function authHeader(accountSid: string, token: string): string {
  return `Basic ${Buffer.from(`${accountSid}:${token}`).toString('base64')}`;
}

async function toAnswer(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export interface MockApi {
  /** `path` is absolute (`/api/...`, as in `next_page_uri`) or relative to the account. */
  get(path: string): Promise<Answer>;
  post(path: string, form: Record<string, string>): Promise<Answer>;
  del(path: string): Promise<Answer>;
  /** Path of a participant under the account. */
  participantPath(conferenceSid: string, callSid: string, suffix?: string): string;
}

export function mockApi(mock: MockServer, account: MockAccount): MockApi {
  const base = `/api/laml/2010-04-01/Accounts/${account.accountSid}`;
  const url = (path: string): string =>
    `${mock.url}${path.startsWith('/api/') ? path : base + path}`;
  const headers = { authorization: authHeader(account.accountSid, account.token) };
  return {
    get: async (path) => toAnswer(await fetch(url(path), { headers })),
    post: async (path, form) =>
      toAnswer(
        await fetch(url(path), {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
        }),
      ),
    del: async (path) => toAnswer(await fetch(url(path), { method: 'DELETE', headers })),
    participantPath: (conferenceSid, callSid, suffix = '.json') =>
      `/Conferences/${conferenceSid}/Participants/${callSid}${suffix}`,
  };
}
