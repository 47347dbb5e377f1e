/**
 * What the client sends and how it reads answers and pages, against scripted node:http
 * servers on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, ValidationError } from '../../src/errors.js';
import type { ParticipantsApi } from '../../src/signalwire/api.js';
import { createSignalWireClient, type ClientOptions } from '../../src/signalwire/client.js';
import { SignalWireError } from '../../src/signalwire/errors.js';
import {
  CALL_SID,
  CONFERENCE_SID,
  PROJECT_ID,
  json,
  participantJson,
  profileOf,
  startScriptedServer,
  type Script,
  type ScriptedServer,
} from './helpers/scripted-server.js';

const ACCOUNT = `/api/laml/2010-04-01/Accounts/${PROJECT_ID}`;
const PARTICIPANTS = `${ACCOUNT}/Conferences/${CONFERENCE_SID}/Participants`;

const servers: ScriptedServer[] = [];
let client: ParticipantsApi | undefined;

afterEach(async () => {
  await client?.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  client = undefined;
});

async function serve(script: Script): Promise<ScriptedServer> {
  const server = await startScriptedServer(script);
  servers.push(server);
  return server;
}

async function clientFor(
  script: Script,
  options: ClientOptions = {},
  token?: string,
): Promise<[ParticipantsApi, ScriptedServer]> {
  const server = await serve(script);
  client = createSignalWireClient(profileOf(server.url, token), options);
  return [client, server];
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function participants(n: number, from = 0): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => participantJson({ call_sid: `call-${from + i}` }));
}

describe('requests', () => {
  it('POSTs the update form with Basic auth to the .json path and returns the participant with meta', async () => {
    const [api, server] = await clientFor(
      json(200, participantJson({ muted: true }), {
        'x-ratelimit-remaining': '41',
        'x-ratelimit-limit': '13800',
      }),
      { userAgent: 'confbulk-test/1' },
      'PTsecret-token',
    );
    const { participant, meta } = await api.updateParticipant(CONFERENCE_SID, CALL_SID, {
      Muted: true,
      AnnounceUrl: 'https://example.com/a.xml?x=1&y=2',
    });
    expect(participant.muted).toBe(true);
    expect(meta.status).toBe(200);
    expect(meta.rateLimit).toEqual({ limit: 13800, remaining: 41 });
    expect(meta.durationMs).toBeGreaterThanOrEqual(0);
    const [request] = server.requests;
    expect(request).toMatchObject({ method: 'POST', url: `${PARTICIPANTS}/${CALL_SID}.json` });
    expect(request!.headers.authorization).toBe(
      `Basic ${Buffer.from(`${PROJECT_ID}:PTsecret-token`).toString('base64')}`,
    );
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.headers.accept).toBe('application/json');
    expect(request!.headers['user-agent']).toBe('confbulk-test/1');
    expect(Object.fromEntries(new URLSearchParams(request!.body))).toEqual({
      Muted: 'true',
      AnnounceUrl: 'https://example.com/a.xml?x=1&y=2',
    });
  });

  it('GETs one participant and DELETEs one (204 No Content)', async () => {
    const [api, server] = await clientFor((req, res) => {
      if (req.method === 'DELETE') {
        res.writeHead(204);
        res.end();
      } else json(200, participantJson({ hold: true }))(req, res);
    });
    expect((await api.getParticipant(CONFERENCE_SID, CALL_SID)).participant.hold).toBe(true);
    expect((await api.removeParticipant(CONFERENCE_SID, CALL_SID)).meta.status).toBe(204);
    expect(server.requests.map((r) => `${r.method} ${r.url} ${r.body}`)).toEqual([
      `GET ${PARTICIPANTS}/${CALL_SID}.json `,
      `DELETE ${PARTICIPANTS}/${CALL_SID}.json `,
    ]);
  });

  it('escapes SIDs into single path segments and keeps a space URL path prefix', async () => {
    const server = await serve(json(200, participantJson()));
    client = createSignalWireClient({ ...profileOf(`${server.url}/tenant-a/`) });
    await client.getParticipant('a/../b', 'c?d');
    expect(server.requests[0]!.url).toBe(
      `/tenant-a${ACCOUNT}/Conferences/a%2F..%2Fb/Participants/c%3Fd.json`,
    );
  });

  it('GETs a conference', async () => {
    const [api, server] = await clientFor(
      json(200, { sid: CONFERENCE_SID, friendly_name: 'Town hall', status: 'in-progress' }),
    );
    expect(await api.getConference(CONFERENCE_SID)).toMatchObject({
      sid: CONFERENCE_SID,
      friendly_name: 'Town hall',
    });
    expect(server.requests[0]!.url).toBe(`${ACCOUNT}/Conferences/${CONFERENCE_SID}.json`);
  });

  it('refuses a 200 that is not a participant', async () => {
    const [api] = await clientFor(json(200, { hello: 'world' }));
    await expect(api.getParticipant(CONFERENCE_SID, CALL_SID)).rejects.toThrow(
      /answered 200 with no participant object/,
    );
  });

  it('checks arguments before sending anything', async () => {
    const [api, server] = await clientFor(json(200, participantJson()));
    await expect(
      api.updateParticipant(CONFERENCE_SID, CALL_SID, { Muted: 'yes' as unknown as boolean }),
    ).rejects.toThrow(ValidationError);
    await expect(api.getParticipant('', CALL_SID)).rejects.toThrow(
      /conferenceSid must be a non-empty string/,
    );
    expect(() => api.listParticipantPages(CONFERENCE_SID, { pageSize: 0 })).toThrow(
      /pageSize must be a whole number from 1 to 1000/,
    );
    expect(server.requests).toHaveLength(0);
  });
});

describe('paging', () => {
  it('follows next_page_uri exactly as given, from the first page of 1000 to the last', async () => {
    const next1 = `${PARTICIPANTS}.json?Muted=true&PageSize=1000&Page=1&PageToken=PAxyz%3D%3D`;
    const [api, server] = await clientFor((req, res) => {
      const page = req.url === next1 ? 1 : 0;
      json(200, {
        uri: req.url,
        first_page_uri: `${PARTICIPANTS}.json?Page=0`,
        next_page_uri: page === 0 ? next1 : null,
        previous_page_uri: null,
        page,
        page_size: 1000,
        participants: page === 0 ? participants(1000) : participants(3, 1000),
      })(req, res);
    });
    const pages = await collect(api.listParticipantPages(CONFERENCE_SID, { muted: true }));
    expect(pages.map((p) => p.length)).toEqual([1000, 3]);
    expect(server.requests.map((r) => r.url)).toEqual([
      `${PARTICIPANTS}.json?Muted=true&PageSize=1000`,
      next1,
    ]);
    const flat = await collect(api.listParticipants(CONFERENCE_SID, { muted: true }));
    expect(flat.map((p) => p.call_sid)).toEqual(
      Array.from({ length: 1003 }, (_, i) => `call-${i}`),
    );
  });

  it('follows an absolute next_page_uri on the same origin', async () => {
    const [api, server] = await clientFor((req, res) => {
      const last = req.url.includes('Page=1');
      json(200, {
        next_page_uri: last ? null : `${server.url}${PARTICIPANTS}.json?Page=1`,
        participants: participants(1),
      })(req, res);
    });
    expect(await collect(api.listParticipantPages(CONFERENCE_SID, { pageSize: 1 }))).toHaveLength(
      2,
    );
    expect(server.requests[1]!.url).toBe(`${PARTICIPANTS}.json?Page=1`);
  });

  it('refuses a next_page_uri on another host without contacting it', async () => {
    const elsewhere = await serve(json(200, { participants: [] }));
    const [api] = await clientFor(
      json(200, {
        next_page_uri: `${elsewhere.url}${PARTICIPANTS}.json?Page=1`,
        participants: participants(2),
      }),
    );
    const pages: unknown[] = [];
    const err = await (async () => {
      for await (const page of api.listParticipantPages(CONFERENCE_SID)) pages.push(page);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignalWireError);
    expect(err).toMatchObject({ kind: 'invalid', status: 200 });
    expect((err as Error).message).toMatch(
      /next_page_uri on another origin \(http:\/\/127\.0\.0\.1:\d+\); not sending the space's credentials there/,
    );
    expect(pages).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('stops a next_page_uri that loops back to an earlier page', async () => {
    const [api] = await clientFor(
      json(200, {
        next_page_uri: `${PARTICIPANTS}.json?PageSize=1000`,
        participants: participants(1),
      }),
    );
    await expect(collect(api.listParticipantPages(CONFERENCE_SID))).rejects.toThrow(
      /next_page_uri that repeats an earlier page/,
    );
  });

  it('refuses a list answer without its list key', async () => {
    const [api] = await clientFor(json(200, { next_page_uri: null }));
    await expect(collect(api.listParticipants(CONFERENCE_SID))).rejects.toThrow(
      /answered 200 with no participants array/,
    );
  });

  it('lists conferences with FriendlyName and Status filters across pages', async () => {
    const [api, server] = await clientFor((req, res) => {
      const first = !req.url.includes('Page=1');
      json(200, {
        next_page_uri: first
          ? `${ACCOUNT}/Conferences.json?FriendlyName=Town+hall&Status=in-progress&PageSize=2&Page=1`
          : null,
        conferences: first ? [{ sid: 'c1' }, { sid: 'c2' }] : [{ sid: 'c3' }],
      })(req, res);
    });
    const sids = (
      await collect(
        api.listConferences({ friendlyName: 'Town hall', status: 'in-progress', pageSize: 2 }),
      )
    ).map((c) => c.sid);
    expect(sids).toEqual(['c1', 'c2', 'c3']);
    const first = new URL(server.requests[0]!.url, server.url);
    expect(first.pathname).toBe(`${ACCOUNT}/Conferences.json`);
    expect(Object.fromEntries(first.searchParams)).toEqual({
      FriendlyName: 'Town hall',
      Status: 'in-progress',
      PageSize: '2',
    });
  });
});

describe('construction and lifecycle', () => {
  it('allows http:// only for loopback hosts', () => {
    expect(() => createSignalWireClient(profileOf('http://example.signalwire.com'))).toThrow(
      ConfigError,
    );
    expect(() => createSignalWireClient(profileOf('http://example.signalwire.com'))).toThrow(
      /must use https:\/\//,
    );
    expect(() => createSignalWireClient(profileOf('ftp://127.0.0.1'))).toThrow(ConfigError);
  });

  it('refuses a profile without credentials or with credentials in the URL, never echoing them', () => {
    expect(() => createSignalWireClient(profileOf('https://example.signalwire.com', ''))).toThrow(
      /apiToken must be a non-empty string/,
    );
    expect(() =>
      createSignalWireClient({ ...profileOf('https://example.signalwire.com'), projectId: ' ' }),
    ).toThrow(/projectId must be a non-empty string/);
    const withUserInfo = (): unknown =>
      createSignalWireClient(profileOf('https://user:hunter22@example.signalwire.com'));
    expect(withUserInfo).toThrow(/must not carry credentials/);
    expect(withUserInfo).not.toThrow(/hunter22/);
  });

  it('checks options, naming the option and its range', () => {
    const profile = profileOf('https://example.signalwire.com');
    expect(() => createSignalWireClient(profile, { connections: 0 })).toThrow(
      /`connections` must be a whole number from 1 to 10000; got 0/,
    );
    expect(() => createSignalWireClient(profile, { requestTimeoutMs: 1.5 })).toThrow(
      /`requestTimeoutMs`/,
    );
    expect(() => createSignalWireClient(profile, { connectTimeoutMs: -1 })).toThrow(
      ValidationError,
    );
    expect(() => createSignalWireClient(profile, { userAgent: 'a\r\nx-evil: 1' })).toThrow(
      /`userAgent`/,
    );
  });

  it('names its space, closes idempotently and refuses requests after close as never sent', async () => {
    const [api, server] = await clientFor(json(200, participantJson()));
    expect(api.space).toBe('scripted');
    await api.getParticipant(CONFERENCE_SID, CALL_SID);
    await Promise.all([api.close(), api.close()]);
    await api.close();
    const err = await api.getParticipant(CONFERENCE_SID, CALL_SID).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'SignalWireError',
      networkCode: 'UND_ERR_CLOSED',
      reachedServer: false,
      kind: 'transient',
    });
    expect(server.requests).toHaveLength(1);
  });

  it('runs concurrent requests over at most `connections` keep-alive connections', async () => {
    const [api, server] = await clientFor(
      (req, res) => setTimeout(() => json(200, participantJson())(req, res), 20),
      { connections: 4 },
    );
    const results = await Promise.all(
      Array.from({ length: 40 }, () => api.getParticipant(CONFERENCE_SID, CALL_SID)),
    );
    expect(results.every((r) => r.meta.status === 200)).toBe(true);
    expect(server.requests).toHaveLength(40);
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBe(4);
  });

  it('keeps connections alive across sequential requests', async () => {
    const [api, server] = await clientFor(json(200, participantJson()));
    for (let i = 0; i < 10; i++) await api.getParticipant(CONFERENCE_SID, CALL_SID);
    expect(server.requests).toHaveLength(10);
    // undici's pool may hand consecutive requests to two connections in turn; it does not open new ones.
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
  });
});
