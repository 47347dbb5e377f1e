import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMock, type MockAccount, type MockServer } from '../../src/mock/index.js';
import { mockApi, type MockApi } from './support.js';

const PARTICIPANT_FIELDS = [
  'account_sid',
  'call_sid',
  'call_sid_to_coach',
  'coaching',
  'conference_sid',
  'date_created',
  'date_updated',
  'end_conference_on_exit',
  'hold',
  'muted',
  'start_conference_on_enter',
  'status',
  'uri',
];

const RFC2822 = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/;

type Page = {
  participants: Record<string, unknown>[];
  next_page_uri: string | null;
  previous_page_uri: string | null;
  first_page_uri: string;
  uri: string;
  page: number;
  page_size: number;
};

/** Follows `next_page_uri` as given, from `firstPath`. */
async function allPages(api: MockApi, firstPath: string): Promise<Page[]> {
  const pages: Page[] = [];
  let path: string | null = firstPath;
  while (path) {
    const res = await api.get(path);
    expect(res.status).toBe(200);
    const page = res.json as unknown as Page;
    pages.push(page);
    path = page.next_page_uri;
  }
  return pages;
}

describe('mock Compatibility API: participants', () => {
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

  describe('listing', () => {
    it('pages 2,500 participants by 1,000 through next_page_uri', async () => {
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2500 });
      const pages = await allPages(api, `/Conferences/${sid}/Participants.json?PageSize=1000`);
      expect(pages.map((p) => p.participants.length)).toEqual([1000, 1000, 500]);
      expect(pages.flatMap((p) => p.participants.map((x) => x.call_sid))).toEqual(callSids);
      expect(pages.map((p) => p.page)).toEqual([0, 1, 2]);
      expect(pages[0]?.previous_page_uri).toBeNull();
      expect(pages[2]?.next_page_uri).toBeNull();
      const next = new URL(pages[0]?.next_page_uri as string, mock.url);
      expect(next.pathname).toBe(
        `/api/laml/2010-04-01/Accounts/${account.accountSid}/Conferences/${sid}/Participants.json`,
      );
      expect(next.searchParams.get('PageSize')).toBe('1000');
      expect(next.searchParams.get('Page')).toBe('1');
      expect(next.searchParams.get('PageToken')).toMatch(/^PA[A-Za-z0-9_-]+$/);
      expect(pages[1]?.first_page_uri).toMatch(/PageSize=1000&Page=0$/);
      expect(pages[1]?.page_size).toBe(1000);
      const first = pages[0]?.participants[0] as Record<string, unknown>;
      expect(Object.keys(first).sort()).toEqual(PARTICIPANT_FIELDS);
      expect(first.uri).toBe(
        `/api/laml/2010-04-01/Accounts/${account.accountSid}/Conferences/${sid}/Participants/${callSids[0]}.json`,
      );
      expect(first.date_created).toMatch(RFC2822);
    });

    it('pages with Muted and Hold filters, keeping them in next_page_uri', async () => {
      const { sid } = mock.createConference(account.accountSid, {
        participants: 2500,
        muted: 1300,
        hold: 400,
      });
      const state = mock.participants(sid);
      const cases: [string, (p: { muted: boolean; hold: boolean }) => boolean][] = [
        ['Muted=true', (p) => p.muted],
        ['Muted=false', (p) => !p.muted],
        ['Hold=true', (p) => p.hold],
        ['Muted=false&Hold=false', (p) => !p.muted && !p.hold],
      ];
      for (const [filter, want] of cases) {
        const pages = await allPages(
          api,
          `/Conferences/${sid}/Participants?${filter}&PageSize=1000`,
        );
        const got = pages.flatMap((p) => p.participants.map((x) => x.call_sid));
        expect(got, filter).toEqual(state.filter(want).map((p) => p.callSid));
        for (const page of pages.slice(0, -1)) {
          for (const part of filter.split('&')) expect(page.next_page_uri).toContain(part);
        }
      }
      expect(state.filter((p) => p.muted)).toHaveLength(1300);
    });

    it('keeps a page token stable when earlier participants leave, and pages back with PB', async () => {
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 30 });
      const first = (await api.get(`/Conferences/${sid}/Participants?PageSize=10`))
        .json as unknown as Page;
      const removed = await api.del(api.participantPath(sid, callSids[0] as string));
      expect(removed.status).toBe(204);
      const second = (await api.get(first.next_page_uri as string)).json as unknown as Page;
      expect(second.participants.map((p) => p.call_sid)).toEqual(callSids.slice(10, 20));
      expect(second.previous_page_uri).toMatch(/Page=0&PageToken=PB/);
      const back = (await api.get(second.previous_page_uri as string)).json as unknown as Page;
      expect(back.participants.map((p) => p.call_sid)).toEqual(callSids.slice(1, 10));
      expect(back.next_page_uri).not.toBeNull();
    });

    it('uses 50 as the default page size and Page as an offset without a token', async () => {
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 120 });
      const page = (await api.get(`/Conferences/${sid}/Participants?Page=2`))
        .json as unknown as Page;
      expect(page.page_size).toBe(50);
      expect(page.participants.map((p) => p.call_sid)).toEqual(callSids.slice(100));
      expect(page.next_page_uri).toBeNull();
    });

    it('rejects bad filters and page sizes with 400 naming the parameter', async () => {
      const { sid } = mock.createConference(account.accountSid, { participants: 1 });
      for (const [query, name] of [
        ['Muted=yes', 'Muted'],
        ['Hold=1', 'Hold'],
        ['PageSize=0', 'PageSize'],
        ['PageSize=1001', 'PageSize'],
        ['PageSize=ten', 'PageSize'],
        ['Page=-1', 'Page'],
        ['PageToken=XX123', 'PageToken'],
      ]) {
        const res = await api.get(`/Conferences/${sid}/Participants.json?${query}`);
        expect(res.status, query).toBe(400);
        expect(res.json?.message, query).toContain(name);
        expect(Object.keys(res.json ?? {}).sort()).toEqual([
          'code',
          'message',
          'more_info',
          'status',
        ]);
      }
    });

    it('lists no participants of a completed conference, and 404s an unknown one', async () => {
      const { sid } = mock.createConference(account.accountSid, { participants: 5 });
      mock.completeConference(sid);
      const res = await api.get(`/Conferences/${sid}/Participants`);
      expect(res.status).toBe(200);
      expect(res.json?.participants).toEqual([]);
      const unknown = await api.get(`/Conferences/${crypto.randomUUID()}/Participants`);
      expect(unknown.status).toBe(404);
      expect(unknown.json?.code).toBe(20404);
    });
  });

  describe('conferences', () => {
    it('lists conferences with FriendlyName and Status filters and paging', async () => {
      mock.createConference(account.accountSid, { participants: 0, friendlyName: 'alpha' });
      const beta = mock.createConference(account.accountSid, {
        participants: 0,
        friendlyName: 'beta',
      });
      mock.createConference(account.accountSid, { participants: 0, status: 'init' });
      mock.completeConference(beta.sid);
      const byName = await api.get('/Conferences.json?FriendlyName=beta');
      expect((byName.json?.conferences as { sid: string }[]).map((c) => c.sid)).toEqual([beta.sid]);
      const completed = await api.get('/Conferences?Status=completed');
      expect(completed.json?.conferences).toHaveLength(1);
      const first = await api.get('/Conferences?PageSize=2');
      expect(first.json?.conferences).toHaveLength(2);
      const rest = await api.get(first.json?.next_page_uri as string);
      expect(rest.json?.conferences).toHaveLength(1);
      expect(rest.json?.next_page_uri).toBeNull();
      expect((await api.get('/Conferences?Status=ended')).status).toBe(400);
      const one = await api.get(`/Conferences/${beta.sid}`);
      expect(one.json).toMatchObject({
        sid: beta.sid,
        account_sid: account.accountSid,
        friendly_name: 'beta',
        status: 'completed',
        uri: `/api/laml/2010-04-01/Accounts/${account.accountSid}/Conferences/${beta.sid}.json`,
      });
      expect(one.json?.date_updated).toMatch(RFC2822);
    });
  });

  describe('updates', () => {
    it('applies an update, keeps the URLs and methods and counts announcements', async () => {
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2 });
      const [callSid, coachee] = callSids as [string, string];
      const before = mock.participant(callSid);
      await new Promise((r) => setTimeout(r, 5));
      const res = await api.post(api.participantPath(sid, callSid), {
        Muted: 'true',
        Hold: 'true',
        HoldUrl: 'https://example.com/hold.mp3',
        AnnounceUrl: 'https://example.com/hello.xml',
        AnnounceMethod: 'GET',
        WaitUrl: 'http://example.com/wait.xml',
        Coaching: 'true',
        CallSidToCoach: coachee,
      });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        muted: true,
        hold: true,
        coaching: true,
        call_sid_to_coach: coachee,
      });
      expect(res.json?.date_updated).toMatch(RFC2822);
      await api.post(api.participantPath(sid, callSid), {
        AnnounceUrl: 'https://example.com/hello.xml',
      });
      const after = mock.participant(callSid);
      expect(after).toMatchObject({
        muted: true,
        hold: true,
        holdUrl: 'https://example.com/hold.mp3',
        holdMethod: 'GET',
        announceUrl: 'https://example.com/hello.xml',
        announceMethod: 'POST',
        waitUrl: 'http://example.com/wait.xml',
        waitMethod: 'POST',
        announcements: 2,
        updates: 2,
        coaching: true,
        callSidToCoach: coachee,
      });
      expect(after?.dateUpdated).toBeGreaterThan(before?.dateUpdated ?? Infinity);
      expect(mock.counters()).toMatchObject({
        appliedUpdates: 2,
        announcements: 2,
        acceptedPosts: 2,
      });
      const unmute = await api.post(api.participantPath(sid, callSid), {
        Muted: 'false',
        Coaching: 'false',
      });
      expect(unmute.json).toMatchObject({ muted: false, coaching: false, call_sid_to_coach: null });
    });

    it('rejects each invalid parameter with 400 naming it, without changing state', async () => {
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
      const path = api.participantPath(sid, callSids[0] as string);
      const invalid: [Record<string, string>, string][] = [
        [{ Muted: 'yes' }, 'Muted'],
        [{ Hold: 'TRUE' }, 'Hold'],
        [{ Coaching: '1', CallSidToCoach: callSids[0] as string }, 'Coaching'],
        [{ HoldUrl: 'ftp://example.com/a.mp3' }, 'HoldUrl'],
        [{ AnnounceUrl: 'not a url' }, 'AnnounceUrl'],
        [{ WaitUrl: 'javascript:alert(1)' }, 'WaitUrl'],
        [{ HoldMethod: 'PUT' }, 'HoldMethod'],
        [{ AnnounceMethod: 'get' }, 'AnnounceMethod'],
        [{ WaitMethod: 'DELETE' }, 'WaitMethod'],
        [{ CallSidToCoach: 'nobody' }, 'CallSidToCoach'],
      ];
      for (const [form, name] of invalid) {
        const res = await api.post(path, { Muted: 'true', ...form });
        expect(res.status, name).toBe(400);
        expect(res.json).toMatchObject({ status: 400, code: 10000 });
        expect(res.json?.message, name).toContain(name);
      }
      const coaching = await api.post(path, { Coaching: 'true' });
      expect(coaching.status).toBe(422);
      expect(coaching.json).toMatchObject({ status: 422, code: 10000 });
      expect(coaching.json?.message).toContain('CallSidToCoach');
      const stranger = await api.post(path, {
        Coaching: 'true',
        CallSidToCoach: crypto.randomUUID(),
      });
      expect(stranger.json).toMatchObject({ status: 422, code: 16002 });
      expect(mock.participant(callSids[0] as string)).toMatchObject({ muted: false, updates: 0 });
    });

    it('404s an unknown participant, and 422s (code 10000) an update of one of a completed conference', async () => {
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
      const unknown = await api.post(api.participantPath(sid, crypto.randomUUID()), {
        Muted: 'true',
      });
      expect(unknown.status).toBe(404);
      expect(unknown.json?.code).toBe(20404);
      mock.completeConference(sid);
      const path = api.participantPath(sid, callSids[0] as string);
      const late = await api.post(path, { Muted: 'true' });
      expect(late.status).toBe(422);
      expect(late.json?.code).toBe(10000);
      const fetched = await api.get(path);
      expect(fetched.status).toBe(200);
      expect(fetched.json?.status).toBe('completed');
    });

    it('always rejects updates of calls listed in rejectCalls', async () => {
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2 });
      const [bad, good] = callSids as [string, string];
      mock.setFaults({ rejectCalls: { [bad]: { status: 400, code: 21220 } } });
      for (let i = 0; i < 2; i++) {
        const res = await api.post(api.participantPath(sid, bad), { Muted: 'true' });
        expect(res.status).toBe(400);
        expect(res.json?.code).toBe(21220);
      }
      expect((await api.post(api.participantPath(sid, good), { Muted: 'true' })).status).toBe(200);
      expect(mock.participant(bad)?.muted).toBe(false);
      mock.setFaults({ rejectCalls: { [bad]: null } });
      expect((await api.post(api.participantPath(sid, bad), { Muted: 'true' })).status).toBe(200);
    });
  });

  describe('removal', () => {
    it('answers DELETE 204; later, GET shows it completed, POST is 422 (10000), DELETE 404', async () => {
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 3 });
      const path = api.participantPath(sid, callSids[1] as string);
      const removed = await api.del(path);
      expect(removed.status).toBe(204);
      expect(removed.text).toBe('');
      const fetched = await api.get(path);
      expect(fetched.status).toBe(200);
      expect(fetched.json).toMatchObject({ call_sid: callSids[1], status: 'completed' });
      const update = await api.post(path, { Muted: 'true' });
      expect(update.json).toMatchObject({ status: 422, code: 10000 });
      const again = await api.del(path);
      expect(again.json).toMatchObject({ status: 404, code: 20404 });
      const list = await api.get(`/Conferences/${sid}/Participants`);
      expect((list.json?.participants as { call_sid: string }[]).map((p) => p.call_sid)).toEqual([
        callSids[0],
        callSids[2],
      ]);
      expect(mock.participant(callSids[1] as string)?.gone).toBe('removed');
      expect(mock.participants(sid, { includeGone: true })).toHaveLength(3);
      expect(mock.counters().removals).toBe(1);
    });

    it('with leavers answered as Twilio does, every later request of it is 404 (20404)', async () => {
      const twilioLike = await startMock({ leavers: { update: 404, retrieve: 404 } });
      try {
        const acct = twilioLike.createAccount();
        const other = mockApi(twilioLike, acct);
        const { sid, callSids } = twilioLike.createConference(acct.accountSid, { participants: 2 });
        const path = other.participantPath(sid, callSids[0] as string);
        expect((await other.del(path)).status).toBe(204);
        for (const res of [
          await other.get(path),
          await other.post(path, { Muted: 'true' }),
          await other.del(path),
        ]) {
          expect(res.json).toMatchObject({ status: 404, code: 20404 });
        }
      } finally {
        await twilioLike.stop();
      }
    });
  });
});
