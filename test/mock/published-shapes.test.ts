import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { startMock, type MockAccount, type MockServer } from '../../src/mock/index.js';
import * as published from './published-schemas.js';
import { mockApi, type Answer, type MockApi } from './support.js';

/**
 * Checks an answer against the published description: a status the operation documents,
 * and a body that is exactly the documented schema (the resource on success, the error
 * response otherwise, its `status` the HTTP status).
 */
function conforms(op: published.Operation, answer: Answer, schema?: z.ZodType): void {
  expect(
    published.DOCUMENTED_STATUSES[op] as readonly number[],
    `${op} ${answer.status}`,
  ).toContain(answer.status);
  if (answer.status === 204) {
    expect(answer.text).toBe('');
    return;
  }
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  const expected = answer.status < 300 ? schema : published.error;
  if (!expected) throw new Error(`no schema for a ${answer.status} of ${op}`);
  const parsed = expected.safeParse(answer.json);
  expect(parsed.error?.issues ?? [], `${op} ${answer.status}: ${answer.text}`).toEqual([]);
  if (answer.status >= 400) expect(answer.json?.status).toBe(answer.status);
}

describe('the published schemas', () => {
  it("reject what the description rules out: Twilio's status, missing fields, extra fields, Twilio's codes", async () => {
    const mock = await startMock();
    try {
      const account = mock.createAccount();
      const api = mockApi(mock, account);
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
      const p = (await api.get(api.participantPath(sid, callSids[0] as string))).json;
      const c = (await api.get(`/Conferences/${sid}`)).json as Record<string, unknown>;
      expect(published.participant.safeParse(p).success).toBe(true);
      expect(published.participant.safeParse({ ...p, status: 'connected' }).success).toBe(false);
      expect(published.participant.safeParse({ ...p, label: 'x' }).success).toBe(false);
      const { region: _region, ...noRegion } = c;
      expect(published.conference.safeParse(c).success).toBe(true);
      expect(published.conference.safeParse(noRegion).success).toBe(false);
      const uris = { participants: 'x' };
      expect(published.conference.safeParse({ ...c, subresource_uris: uris }).success).toBe(false);
      const body = { code: 20001, message: 'x', more_info: 'x', status: 400 };
      expect(published.error.safeParse(body).success).toBe(false);
      expect(published.error.safeParse({ ...body, code: 10000 }).success).toBe(true);
    } finally {
      await mock.stop();
    }
  });
});

describe('mock answers against the published description', () => {
  let mock: MockServer;
  let account: MockAccount;
  let api: MockApi;

  beforeEach(async () => {
    mock = await startMock({ rateLimit: { count: 1000, durationMs: 10_000 } });
    account = mock.createAccount();
    api = mockApi(mock, account);
  });

  afterEach(async () => {
    await mock.stop();
  });

  it('participants: list (every page), retrieve, update, delete, and their errors', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, {
      participants: 7,
      muted: 3,
    });
    const [first, second, third] = callSids as [string, string, string];
    let path: string | null = `/Conferences/${sid}/Participants.json?PageSize=3`;
    let pages = 0;
    while (path) {
      const page = await api.get(path);
      conforms('listParticipants', page, published.participantList);
      path = (page.json?.next_page_uri as string | null) ?? null;
      pages++;
    }
    expect(pages).toBe(3);
    conforms('listParticipants', await api.get(`/Conferences/${sid}/Participants?Muted=yes`));
    conforms('listParticipants', await api.get(`/Conferences/nope/Participants`));

    const fetched = await api.get(api.participantPath(sid, first));
    conforms('retrieveParticipant', fetched, published.participant);
    expect(fetched.json?.status).toBe('in-progress');
    conforms('retrieveParticipant', await api.get(api.participantPath(sid, crypto.randomUUID())));

    const updated = await api.post(api.participantPath(sid, first), {
      Muted: 'true',
      Coaching: 'true',
      CallSidToCoach: second,
    });
    conforms('updateParticipant', updated, published.participant);
    expect(updated.json).toMatchObject({ status: 'in-progress', call_sid_to_coach: second });
    const invalid = await api.post(api.participantPath(sid, first), { Hold: 'maybe' });
    conforms('updateParticipant', invalid);
    expect(invalid.json).toMatchObject({ status: 400, code: 10000 });
    const blank = await api.post(api.participantPath(sid, first), { Coaching: 'true' });
    conforms('updateParticipant', blank);
    expect(blank.json?.code).toBe(10000);
    const stranger = await api.post(api.participantPath(sid, first), {
      Coaching: 'true',
      CallSidToCoach: crypto.randomUUID(),
    });
    conforms('updateParticipant', stranger);
    expect(stranger.json?.code).toBe(16002);

    conforms('deleteParticipant', await api.del(api.participantPath(sid, third)));
    const leaverUpdate = await api.post(api.participantPath(sid, third), { Muted: 'true' });
    conforms('updateParticipant', leaverUpdate);
    expect(leaverUpdate.json).toMatchObject({ status: 422, code: 10000 });
    const leaver = await api.get(api.participantPath(sid, third));
    conforms('retrieveParticipant', leaver, published.participant);
    expect(leaver.json?.status).toBe('completed');
    conforms('deleteParticipant', await api.del(api.participantPath(sid, third)));
  });

  it('conferences: list, retrieve, update, and their errors', async () => {
    const made = [1, 2, 3].map(
      (i) => mock.createConference(account.accountSid, { participants: i }).sid,
    );
    mock.createConference(account.accountSid, { participants: 0, region: 'eu1' });
    let path: string | null = '/Conferences.json?PageSize=2';
    const seen: string[] = [];
    while (path) {
      const page = await api.get(path);
      conforms('listConferences', page, published.conferenceList);
      seen.push(...(page.json?.conferences as { sid: string }[]).map((c) => c.sid));
      path = (page.json?.next_page_uri as string | null) ?? null;
    }
    expect(seen.slice(0, 3)).toEqual(made);
    conforms('listConferences', await api.get('/Conferences?Status=running'));

    const fetched = await api.get(`/Conferences/${made[0]}.json`);
    conforms('retrieveConference', fetched, published.conference);
    expect(fetched.json).toMatchObject({ region: 'us1', status: 'in-progress' });
    conforms('retrieveConference', await api.get(`/Conferences/${crypto.randomUUID()}`));

    const announced = await api.post(`/Conferences/${made[1]}`, {
      AnnounceUrl: 'https://example.com/a.xml',
    });
    conforms('updateConference', announced, published.conference);
    const ended = await api.post(`/Conferences/${made[1]}`, { Status: 'completed' });
    conforms('updateConference', ended, published.conference);
    expect(ended.json?.status).toBe('completed');
    conforms(
      'updateConference',
      await api.post(`/Conferences/${made[1]}`, { Status: 'completed' }),
    );
    conforms('updateConference', await api.post(`/Conferences/${made[2]}`, { Status: 'paused' }));
  });

  it('authentication, rate limit, outage and wrong-method answers carry the error schema', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    const path = `${mock.apiUrl}/Accounts/${account.accountSid}/Conferences/${sid}/Participants/${callSids[0]}.json`;
    const raw = async (init: RequestInit): Promise<Answer> => {
      const res = await fetch(path, init);
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
    };
    const unauthorized = await raw({});
    conforms('retrieveParticipant', unauthorized);
    expect(unauthorized.json?.code).toBe(20003);

    mock.force429(60_000);
    const limited = await api.post(api.participantPath(sid, callSids[0] as string), {
      Muted: 'true',
    });
    conforms('updateParticipant', limited);
    expect(limited.json?.code).toBe(20429);
    mock.clearFaults();

    mock.outage(60_000);
    const down = await api.post(`/Conferences/${sid}`, { Status: 'completed' });
    conforms('updateConference', down);
    expect(down.json?.code).toBe(20504);
    mock.clearFaults();

    // Not an operation of the description: only the error body's shape is checked.
    const wrongMethod = await api.del(`/Conferences/${sid}`);
    expect(wrongMethod.status).toBe(405);
    expect(published.error.safeParse(wrongMethod.json).error?.issues ?? []).toEqual([]);
  });
});
