/**
 * Conformance: the official clients, unchanged but for their base URL, against the mock.
 * `twilio` (6.x) calls `/2010-04-01/Accounts/AC.../...json` with form bodies;
 * SignalWire's `@signalwire/compatibility-api` (3.x, a twilio-node fork) calls the same
 * paths on the space's host with the project ID (a UUID) as account. Each lists
 * participants and conferences with a small page size (following every page as the
 * client does), fetches, updates and removes, and the mock's state must show each.
 */
import { RestClient } from '@signalwire/compatibility-api';
import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMock, type MockAccount, type MockServer } from '../../src/mock/index.js';

/** What both clients offer for one conference's participants (twilio-node's API). */
interface ParticipantsResource {
  list(opts: { pageSize: number }): Promise<{ callSid: string; status: string; muted: boolean }[]>;
  (callSid: string): {
    fetch(): Promise<{ callSid: string; status: string; muted: boolean; hold: boolean }>;
    update(
      opts: Record<string, unknown>,
    ): Promise<{ callSid: string; muted: boolean; hold: boolean; status: string }>;
    remove(): Promise<boolean>;
  };
}

interface ConferencesResource {
  list(opts: {
    pageSize: number;
    status?: string;
  }): Promise<{ sid: string; status: string; region: string }[]>;
  (sid: string): {
    fetch(): Promise<{ sid: string; friendlyName: string; status: string }>;
    participants: ParticipantsResource;
  };
}

/** The conferences resource of a client whose API domain is pointed at the mock. */
type ClientUnderTest = { conferences: ConferencesResource; api: { baseUrl: string } };

const CLIENTS: [string, (mock: MockServer, account: MockAccount) => ClientUnderTest][] = [
  [
    'twilio 6',
    (mock, account) => {
      const client = twilio(account.accountSid, account.token, { autoRetry: false });
      client.api.baseUrl = mock.url;
      return client as unknown as ClientUnderTest;
    },
  ],
  [
    '@signalwire/compatibility-api 3',
    (mock, account) => {
      const client = RestClient(account.accountSid, account.token, {
        signalwireSpaceUrl: 'example.signalwire.com',
      });
      client.api.baseUrl = mock.url;
      return client as unknown as ClientUnderTest;
    },
  ],
];

/** Twilio's client refuses account SIDs that do not start with AC; SignalWire's are UUIDs. */
function accountFor(name: string, mock: MockServer): MockAccount {
  if (!name.startsWith('twilio')) return mock.createAccount();
  return mock.createAccount({ accountSid: `AC${crypto.randomUUID().replaceAll('-', '')}` });
}

describe.each(CLIENTS)('official client %s against the mock', (name, connect) => {
  let mock: MockServer;
  let account: MockAccount;
  let client: ClientUnderTest;

  beforeEach(async () => {
    mock = await startMock();
    account = accountFor(name, mock);
    client = connect(mock, account);
  });

  afterEach(async () => {
    await mock.stop();
  });

  it('lists every participant page by page, fetches, updates and removes them', async () => {
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 7 });
    const participants = client.conferences(sid).participants;
    const listed = await participants.list({ pageSize: 2 });
    expect(listed.map((p) => p.callSid)).toEqual(callSids);
    expect(listed.every((p) => p.status === 'in-progress')).toBe(true);
    const listGets = mock.requestLog().filter((e) => e.path.endsWith('/Participants.json'));
    expect(listGets).toHaveLength(4);
    // The SDK's own path form first, then each next_page_uri exactly as the mock gave it.
    expect(listGets[0]?.path).toMatch(/^\/2010-04-01\/Accounts\//);
    expect(listGets[1]?.path).toMatch(/^\/api\/laml\/2010-04-01\/Accounts\//);

    const [first, second, third] = callSids as [string, string, string];
    expect(await participants(first).fetch()).toMatchObject({ callSid: first, muted: false });

    const updated = await participants(first).update({
      muted: true,
      hold: true,
      holdUrl: 'https://example.com/hold.mp3',
      holdMethod: 'GET',
    });
    expect(updated).toMatchObject({ callSid: first, muted: true, hold: true });
    expect(mock.participant(first)).toMatchObject({
      muted: true,
      hold: true,
      holdUrl: 'https://example.com/hold.mp3',
      holdMethod: 'GET',
      updates: 1,
    });
    await participants(second).update({ announceUrl: 'https://example.com/hello.xml' });
    expect(mock.participant(second)?.announcements).toBe(1);

    expect(await participants(third).remove()).toBe(true);
    expect(mock.participant(third)?.gone).toBe('removed');
    expect((await participants.list({ pageSize: 2 })).map((p) => p.callSid)).not.toContain(third);
    expect((await participants(third).fetch()).status).toBe('completed');
    await expect(participants(third).update({ muted: true })).rejects.toMatchObject({
      status: 422,
      code: 10000,
    });
    await expect(participants(crypto.randomUUID()).fetch()).rejects.toMatchObject({
      status: 404,
      code: 20404,
    });

    const posts = mock.requestLog().filter((e) => e.method === 'POST');
    expect(posts.map((e) => e.status)).toEqual([200, 200, 422]);
    expect(posts[0]?.params).toMatchObject({ Muted: 'true', HoldMethod: 'GET' });
  });

  it('lists conferences page by page, filtered by status, and fetches one', async () => {
    const made = [1, 2, 3, 4, 5].map(
      (i) =>
        mock.createConference(account.accountSid, { participants: i, friendlyName: `room-${i}` })
          .sid,
    );
    mock.completeConference(made[4] as string);
    const all = await client.conferences.list({ pageSize: 2 });
    expect(all.map((c) => c.sid)).toEqual(made);
    expect(all[0]).toMatchObject({ status: 'in-progress', region: 'us1' });
    const live = await client.conferences.list({ pageSize: 2, status: 'in-progress' });
    expect(live.map((c) => c.sid)).toEqual(made.slice(0, 4));
    expect(await client.conferences(made[1] as string).fetch()).toMatchObject({
      sid: made[1],
      friendlyName: 'room-2',
      status: 'in-progress',
    });
  });
});
