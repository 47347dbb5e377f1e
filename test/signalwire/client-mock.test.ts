/**
 * The client against the mock Compatibility API (src/mock): parameters round-trip into
 * participant state, paging over thousands of participants, and each failure class as the
 * mock answers it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  mockSpaceProfile,
  startMock,
  type MockAccount,
  type MockServer,
} from '../../src/mock/index.js';
import type { ParticipantsApi } from '../../src/signalwire/api.js';
import { createSignalWireClient } from '../../src/signalwire/client.js';
import { isSignalWireError, type SignalWireError } from '../../src/signalwire/errors.js';
import type { Participant } from '../../src/signalwire/types.js';

let mock: MockServer;
let account: MockAccount;
let client: ParticipantsApi;

beforeEach(async () => {
  mock = await startMock({ rateLimit: null });
  account = mock.createAccount();
  client = createSignalWireClient(mockSpaceProfile(mock, account, 'mock'));
});

afterEach(async () => {
  await client.close();
  await mock.stop();
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function failure(promise: Promise<unknown>): Promise<SignalWireError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSignalWireError(err), `expected a SignalWireError, got ${String(err)}`).toBe(true);
  return err as SignalWireError;
}

describe('updates round-trip into participant state', () => {
  it('sends every documented parameter, read back via getParticipant and the mock state', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 3 });
    const [target, coached] = callSids as [string, string];
    const params = {
      Muted: true,
      Hold: true,
      HoldUrl: 'https://example.com/hold.xml?tone=soft&loop=2',
      HoldMethod: 'POST',
      AnnounceUrl: 'https://example.com/announce.xml',
      AnnounceMethod: 'GET',
      WaitUrl: 'https://example.com/wait.xml',
      WaitMethod: 'GET',
      Coaching: true,
      CallSidToCoach: coached,
    } as const;

    const { participant, meta } = await client.updateParticipant(sid, target, params);
    expect(meta.status).toBe(200);
    const expected: Partial<Participant> = {
      call_sid: target,
      conference_sid: sid,
      muted: true,
      hold: true,
      coaching: true,
      call_sid_to_coach: coached,
    };
    expect(participant).toMatchObject(expected);
    expect((await client.getParticipant(sid, target)).participant).toMatchObject(expected);
    expect(mock.participant(target)).toMatchObject({
      muted: true,
      hold: true,
      holdUrl: params.HoldUrl,
      holdMethod: 'POST',
      announceUrl: params.AnnounceUrl,
      announceMethod: 'GET',
      waitUrl: params.WaitUrl,
      waitMethod: 'GET',
      coaching: true,
      callSidToCoach: coached,
      announcements: 1,
    });
    const post = mock.requestLog().find((e) => e.method === 'POST');
    expect(post?.params).toEqual({ ...params, Muted: 'true', Hold: 'true', Coaching: 'true' });
    expect(post?.path).toMatch(new RegExp(`/Participants/${target}\\.json$`));
  });

  it('sends false as false and leaves other fields alone', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, {
      participants: 1,
      muted: 1,
      hold: 1,
    });
    const callSid = callSids[0]!;
    const { participant } = await client.updateParticipant(sid, callSid, {
      Muted: false,
      Coaching: false,
    });
    expect(participant).toMatchObject({
      muted: false,
      hold: true,
      coaching: false,
      call_sid_to_coach: null,
    });
    expect((await client.getParticipant(sid, callSid)).participant).toMatchObject({
      muted: false,
      hold: true,
    });
    expect(mock.requestLog().find((e) => e.method === 'POST')?.params).toEqual({
      Muted: 'false',
      Coaching: 'false',
    });
  });

  it('removes a participant (204), after which it is completed, and removing it again is gone', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2 });
    expect((await client.removeParticipant(sid, callSids[0]!)).meta.status).toBe(204);
    expect(mock.participant(callSids[0]!)?.gone).toBe('removed');
    expect((await client.getParticipant(sid, callSids[0]!)).participant.status).toBe('completed');
    expect(await failure(client.removeParticipant(sid, callSids[0]!))).toMatchObject({
      kind: 'gone',
      status: 404,
      code: 20404,
    });
  });
});

describe('listing', () => {
  it('lists 2,500 participants in pages of 1000, in order, following next_page_uri', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2500 });
    const pages = await collect(client.listParticipantPages(sid));
    expect(pages.map((p) => p.length)).toEqual([1000, 1000, 500]);
    expect(pages.flat().map((p) => p.call_sid)).toEqual(callSids);
    const gets = mock.requestLog().filter((e) => e.method === 'GET');
    expect(gets).toHaveLength(3);
    expect(gets[0]!.params).toEqual({ PageSize: '1000' });
    expect(gets[1]!.params).toMatchObject({ PageSize: '1000', Page: '1' });
    expect(gets[1]!.params!.PageToken).toMatch(/^PA/);
  });

  it('lists a small first page, then full pages by token, in order', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2100 });
    const pages = await collect(client.listParticipantPages(sid, { firstPageSize: 50 }));
    expect(pages.map((p) => p.length)).toEqual([50, 1000, 1000, 50]);
    expect(pages.flat().map((p) => p.call_sid)).toEqual(callSids);
    const gets = mock.requestLog().filter((e) => e.method === 'GET');
    expect(gets[0]!.params).toEqual({ PageSize: '50' });
    expect(gets[1]!.params).toMatchObject({ PageSize: '1000' });
    expect(gets[1]!.params!.PageToken).toMatch(/^PA/);
  });

  it('filters by Muted and Hold across pages', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, {
      participants: 2500,
      muted: 1200,
      hold: 300,
    });
    const muted = await collect(client.listParticipants(sid, { muted: true }));
    const unmuted = await collect(client.listParticipants(sid, { muted: false, pageSize: 500 }));
    const held = await collect(client.listParticipants(sid, { hold: true }));
    expect(muted).toHaveLength(1200);
    expect(muted.every((p) => p.muted)).toBe(true);
    expect(unmuted).toHaveLength(1300);
    expect(unmuted.every((p) => !p.muted)).toBe(true);
    expect(new Set([...muted, ...unmuted].map((p) => p.call_sid))).toEqual(new Set(callSids));
    expect(held).toHaveLength(300);
    expect(held.every((p) => p.hold)).toBe(true);
    const both = await collect(client.listParticipants(sid, { muted: true, hold: true }));
    expect(both.every((p) => p.muted && p.hold)).toBe(true);
    expect(both.length).toBe(held.filter((p) => p.muted).length);
    const unmutedRequests = mock.requestLog().filter((e) => e.params?.Muted === 'false');
    expect(unmutedRequests).toHaveLength(3);
  });

  it('lists conferences by FriendlyName and Status, and gets one', async () => {
    const town = mock.createConference(account.accountSid, {
      participants: 1,
      friendlyName: 'Town hall',
    });
    mock.createConference(account.accountSid, {
      participants: 1,
      friendlyName: 'Town hall',
      status: 'completed',
    });
    mock.createConference(account.accountSid, { participants: 1, friendlyName: 'Standup' });
    const live = await collect(
      client.listConferences({ friendlyName: 'Town hall', status: 'in-progress' }),
    );
    expect(live.map((c) => c.sid)).toEqual([town.sid]);
    expect(await collect(client.listConferences({ pageSize: 1 }))).toHaveLength(3);
    expect(await client.getConference(town.sid)).toMatchObject({
      sid: town.sid,
      friendly_name: 'Town hall',
      status: 'in-progress',
    });
    expect(
      await failure(client.getConference('00000000-0000-4000-8000-000000000000')),
    ).toMatchObject({ kind: 'gone', status: 404 });
  });
});

describe('failures as the mock answers them', () => {
  it('401 for a wrong token is unauthorized', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    const wrong = createSignalWireClient({
      ...mockSpaceProfile(mock, account),
      apiToken: 'not-the-token',
    });
    try {
      const err = await failure(wrong.updateParticipant(sid, callSids[0]!, { Muted: true }));
      expect(err).toMatchObject({
        kind: 'unauthorized',
        status: 401,
        code: 20003,
        reachedServer: true,
      });
    } finally {
      await wrong.close();
    }
  });

  it('404 for a participant that is not there is gone', async () => {
    const { sid } = mock.createConference(account.accountSid, { participants: 1 });
    const err = await failure(
      client.updateParticipant(sid, '11111111-2222-4333-8444-555555555555', { Muted: true }),
    );
    expect(err).toMatchObject({ kind: 'gone', status: 404, code: 20404 });
    expect(err.message).toMatch(
      /^POST \/api\/laml\/2010-04-01\/Accounts\/.+\/Participants\/11111111-2222-4333-8444-555555555555\.json answered 404 \(code 20404: /,
    );
  });

  it('400 and 422 are invalid', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2 });
    mock.setFaults({ rejectCalls: { [callSids[0]!]: { status: 400, code: 21220 } } });
    expect(
      await failure(client.updateParticipant(sid, callSids[0]!, { Hold: true })),
    ).toMatchObject({ kind: 'invalid', status: 400, code: 21220 });
    const coaching = await failure(client.updateParticipant(sid, callSids[1]!, { Coaching: true }));
    expect(coaching).toMatchObject({ kind: 'invalid', status: 422, code: 10000 });
    expect(coaching.apiMessage).toMatch(/CallSidToCoach/);
  });

  it('429 as SignalWire documents it: limit and remaining, no Retry-After nor reset; never reached the API', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    mock.setRateLimit({ count: 1, durationMs: 10_000 });
    const ok = await client.updateParticipant(sid, callSids[0]!, { Muted: true });
    expect(ok.meta.rateLimit).toEqual({ limit: 1, remaining: 0 });
    const err = await failure(client.updateParticipant(sid, callSids[0]!, { Muted: false }));
    expect(err).toMatchObject({
      kind: 'rate_limited',
      status: 429,
      code: 20429,
      reachedServer: false,
      retryAfterMs: undefined,
    });
    expect(err.rateLimit).toEqual({ limit: 1, remaining: 0 });
  });

  it('429 with Retry-After seconds and a reset header, when the mock sends them', async () => {
    const timed = await startMock({
      rateLimit: { count: 1, durationMs: 10_000 },
      retryAfter: 'seconds',
      rateLimitReset: 'epoch-seconds',
    });
    const acct = timed.createAccount();
    const api = createSignalWireClient(mockSpaceProfile(timed, acct));
    try {
      const { sid, callSids } = timed.createConference(acct.accountSid, { participants: 1 });
      await api.updateParticipant(sid, callSids[0]!, { Muted: true });
      const err = await failure(api.updateParticipant(sid, callSids[0]!, { Muted: false }));
      expect(err).toMatchObject({ kind: 'rate_limited', reachedServer: false });
      expect(err.retryAfterMs).toBeGreaterThanOrEqual(1000);
      expect(err.retryAfterMs! % 1000).toBe(0);
      expect(err.rateLimit.remaining).toBe(0);
      expect(err.rateLimit.resetAt).toBeGreaterThan(Date.now());
    } finally {
      await api.close();
      await timed.stop();
    }
  });

  it('429 with no header at all is still rate_limited, with nothing to go by', async () => {
    const bare = await startMock({
      rateLimit: { count: 1, durationMs: 10_000 },
      headersOn429: 'none',
    });
    const acct = bare.createAccount();
    const api = createSignalWireClient(mockSpaceProfile(bare, acct));
    try {
      const { sid, callSids } = bare.createConference(acct.accountSid, { participants: 1 });
      await api.updateParticipant(sid, callSids[0]!, { Muted: true });
      const err = await failure(api.updateParticipant(sid, callSids[0]!, { Muted: false }));
      expect(err).toMatchObject({ kind: 'rate_limited', status: 429, reachedServer: false });
      expect(err.retryAfterMs).toBeUndefined();
      expect(err.rateLimit).toEqual({});
    } finally {
      await api.close();
      await bare.stop();
    }
  });

  it('leavers answered as Twilio does: 404 on update and retrieve, kind gone', async () => {
    const twilioLike = await startMock({
      rateLimit: null,
      leavers: { update: 404, retrieve: 404 },
    });
    const acct = twilioLike.createAccount();
    const api = createSignalWireClient(mockSpaceProfile(twilioLike, acct));
    try {
      const { sid, callSids } = twilioLike.createConference(acct.accountSid, { participants: 2 });
      twilioLike.leave({ conferenceSid: sid, count: 2 });
      for (const request of [
        api.updateParticipant(sid, callSids[0]!, { Muted: true }),
        api.getParticipant(sid, callSids[1]!),
      ]) {
        expect(await failure(request)).toMatchObject({ kind: 'gone', status: 404, code: 20404 });
      }
    } finally {
      await api.close();
      await twilioLike.stop();
    }
  });

  it('leavers answered as SignalWire documents: update 422 (10000), retrieve completed', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2 });
    mock.leave({ conferenceSid: sid, count: 2 });
    expect(
      await failure(client.updateParticipant(sid, callSids[0]!, { Muted: true })),
    ).toMatchObject({
      kind: 'invalid',
      status: 422,
      code: 10000,
    });
    expect((await client.getParticipant(sid, callSids[1]!)).participant.status).toBe('completed');
  });

  it('429 with Retry-After as an HTTP date', async () => {
    const dated = await startMock({ rateLimit: null, retryAfter: 'http-date' });
    const acct = dated.createAccount();
    const api = createSignalWireClient(mockSpaceProfile(dated, acct));
    try {
      const { sid, callSids } = dated.createConference(acct.accountSid, { participants: 1 });
      dated.force429(3000);
      const err = await failure(api.updateParticipant(sid, callSids[0]!, { Muted: true }));
      expect(err.kind).toBe('rate_limited');
      expect(err.retryAfterMs).toBeGreaterThan(1000);
      expect(err.retryAfterMs).toBeLessThanOrEqual(3000);
    } finally {
      await api.close();
      await dated.stop();
    }
  });

  it('500 (whole, partial or message-only JSON bodies) is transient', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    mock.setFaults({ errorRate: 1, errorStatuses: [500] });
    for (let i = 0; i < 6; i++) {
      const err = await failure(client.getParticipant(sid, callSids[0]!));
      expect(err).toMatchObject({
        kind: 'transient',
        status: 500,
        apiMessage: 'Internal Server Error',
        reachedServer: true,
      });
    }
  });

  it('a 502 HTML page is transient', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    mock.setFaults({ errorRate: 1, errorStatuses: [502] });
    const err = await failure(client.updateParticipant(sid, callSids[0]!, { Muted: true }));
    expect(err).toMatchObject({ kind: 'transient', status: 502, code: undefined });
    expect(err.message).toMatch(/answered 502 \(502 Bad Gateway\)$/);
  });

  it('a reset outage is transient and may have reached the server', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    mock.outage(5000, 'reset');
    const err = await failure(
      client.updateParticipant(sid, callSids[0]!, { AnnounceUrl: 'https://example.com/a.xml' }),
    );
    expect(err).toMatchObject({ kind: 'transient', status: undefined, reachedServer: true });
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(err.networkCode);
  });

  it('an update of a participant of a completed conference is invalid (422, code 10000)', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    mock.completeConference(sid);
    expect(
      await failure(client.updateParticipant(sid, callSids[0]!, { Muted: true })),
    ).toMatchObject({ kind: 'invalid', status: 422, code: 10000 });
  });
});
