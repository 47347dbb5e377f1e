/**
 * Every failure class from a real HTTP answer (or the lack of one), against scripted
 * node:http servers on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/redis.js';
import type { ParticipantsApi } from '../../src/signalwire/api.js';
import { createSignalWireClient, type ClientOptions } from '../../src/signalwire/client.js';
import { isSignalWireError, type SignalWireError } from '../../src/signalwire/errors.js';
import {
  CALL_SID,
  CONFERENCE_SID,
  PROJECT_ID,
  json,
  profileOf,
  startScriptedServer,
  type Script,
  type ScriptedServer,
} from './helpers/scripted-server.js';

const PARTICIPANT_PATH = `/api/laml/2010-04-01/Accounts/${PROJECT_ID}/Conferences/${CONFERENCE_SID}/Participants/${CALL_SID}.json`;

let server: ScriptedServer | undefined;
let client: ParticipantsApi | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

async function clientFor(script: Script, options: ClientOptions = {}): Promise<ParticipantsApi> {
  server = await startScriptedServer(script);
  client = createSignalWireClient(profileOf(server.url), options);
  return client;
}

async function failure(promise: Promise<unknown>): Promise<SignalWireError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSignalWireError(err), `expected a SignalWireError, got ${String(err)}`).toBe(true);
  return err as SignalWireError;
}

function swError(status: number, code: number, message: string): Script {
  return json(status, {
    code,
    message,
    more_info: `https://developer.signalwire.com/errors#${code}`,
    status,
  });
}

describe('error answers', () => {
  it('404 is gone, with the path, status and SignalWire code in the message', async () => {
    const api = await clientFor(swError(404, 20404, 'The requested resource was not found'));
    const err = await failure(api.updateParticipant(CONFERENCE_SID, CALL_SID, { Muted: true }));
    expect(err.message).toBe(
      `POST ${PARTICIPANT_PATH} answered 404 (code 20404: The requested resource was not found)`,
    );
    expect(err).toMatchObject({
      name: 'SignalWireError',
      kind: 'gone',
      method: 'POST',
      path: PARTICIPANT_PATH,
      status: 404,
      code: 20404,
      apiMessage: 'The requested resource was not found',
      moreInfo: 'https://developer.signalwire.com/errors#20404',
      reachedServer: true,
    });
  });

  it('401 and 403 are unauthorized', async () => {
    const api = await clientFor(swError(401, 20003, 'Authentication Error - invalid username'));
    expect(await failure(api.getParticipant(CONFERENCE_SID, CALL_SID))).toMatchObject({
      kind: 'unauthorized',
      status: 401,
      code: 20003,
    });
    server!.script = swError(403, 20003, 'Forbidden');
    expect(await failure(api.removeParticipant(CONFERENCE_SID, CALL_SID))).toMatchObject({
      kind: 'unauthorized',
      status: 403,
    });
  });

  it('400 and 422 are invalid', async () => {
    const api = await clientFor(swError(400, 21220, 'Call is not in a valid state'));
    expect(
      await failure(api.updateParticipant(CONFERENCE_SID, CALL_SID, { Hold: true })),
    ).toMatchObject({
      kind: 'invalid',
      status: 400,
      code: 21220,
      reachedServer: true,
    });
    server!.script = swError(422, 20422, 'CallSidToCoach is required when Coaching is true');
    expect(
      await failure(api.updateParticipant(CONFERENCE_SID, CALL_SID, { Coaching: true })),
    ).toMatchObject({
      kind: 'invalid',
      status: 422,
    });
  });

  it('429 is rate_limited, never reached the API, and carries Retry-After seconds and the rate-limit headers', async () => {
    const api = await clientFor(
      json(
        429,
        { code: 20429, message: 'Too Many Requests', more_info: 'https://x', status: 429 },
        {
          'retry-after': '2',
          'x-ratelimit-limit': '13800',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': '3',
        },
      ),
    );
    const before = Date.now();
    const err = await failure(api.updateParticipant(CONFERENCE_SID, CALL_SID, { Muted: true }));
    expect(err).toMatchObject({
      kind: 'rate_limited',
      status: 429,
      code: 20429,
      retryAfterMs: 2000,
      reachedServer: false,
    });
    expect(err.message).toMatch(
      /answered 429 \(code 20429: Too Many Requests\); retry after 2000 ms$/,
    );
    expect(err.rateLimit.limit).toBe(13800);
    expect(err.rateLimit.remaining).toBe(0);
    expect(err.rateLimit.resetAt).toBeGreaterThanOrEqual(before + 3000);
    expect(err.rateLimit.resetAt).toBeLessThan(Date.now() + 3000 + 1000);
  });

  it('429 with Retry-After as an HTTP date gives the delay until then', async () => {
    const api = await clientFor((_req, res) => {
      res.writeHead(429, { 'retry-after': new Date(Date.now() + 5000).toUTCString() });
      res.end();
    });
    const err = await failure(api.getParticipant(CONFERENCE_SID, CALL_SID));
    expect(err.kind).toBe('rate_limited');
    // HTTP dates have whole seconds: the delay is 4..5 s, less whatever the request took.
    expect(err.retryAfterMs).toBeGreaterThan(3000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(5000);
    expect(err.message).toMatch(/answered 429 \(Too Many Requests\); retry after \d+ ms$/);
  });

  it('500 with a JSON body is transient', async () => {
    const api = await clientFor(swError(500, 20504, 'Internal error'));
    expect(await failure(api.getConference(CONFERENCE_SID))).toMatchObject({
      kind: 'transient',
      status: 500,
      code: 20504,
      reachedServer: true,
    });
  });

  it('a cut-off HTML 502 page is transient and its title shows in the message, without a parse error', async () => {
    const api = await clientFor((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html', 'content-length': '5000' });
      res.write('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const err = await failure(api.updateParticipant(CONFERENCE_SID, CALL_SID, { Muted: true }));
    expect(err).toMatchObject({
      kind: 'transient',
      status: 502,
      code: undefined,
      reachedServer: true,
    });
    expect(err.message).toBe(`POST ${PARTICIPANT_PATH} answered 502 (502 Bad Gateway)`);
  });

  it('503 with an empty body is transient and says the status text', async () => {
    const api = await clientFor((_req, res) => {
      res.writeHead(503, { 'retry-after': '1' });
      res.end();
    });
    const err = await failure(api.getParticipant(CONFERENCE_SID, CALL_SID));
    expect(err).toMatchObject({ kind: 'transient', status: 503, retryAfterMs: 1000 });
    expect(err.message).toMatch(/answered 503 \(Service Unavailable\); retry after 1000 ms$/);
  });

  it('408 is transient', async () => {
    const api = await clientFor(json(408, { message: 'timeout' }));
    expect(await failure(api.getParticipant(CONFERENCE_SID, CALL_SID))).toMatchObject({
      kind: 'transient',
      status: 408,
    });
  });

  it('a 200 whose body is not JSON is transient and counted as reached', async () => {
    const api = await clientFor((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"call_sid": "abc", "mu');
    });
    const err = await failure(api.updateParticipant(CONFERENCE_SID, CALL_SID, { Muted: true }));
    expect(err).toMatchObject({ kind: 'transient', status: 200, reachedServer: true });
    expect(err.message).toMatch(/answered 200 with a body that is not JSON$/);
  });
});

describe('no answer', () => {
  it('a reset connection is transient and may have reached the server', async () => {
    const api = await clientFor((req, res) => res.socket?.destroy());
    const err = await failure(api.updateParticipant(CONFERENCE_SID, CALL_SID, { Muted: true }));
    expect(err).toMatchObject({ kind: 'transient', status: undefined, reachedServer: true });
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(err.networkCode);
    expect(err.message).toMatch(
      new RegExp(`^POST ${PARTICIPANT_PATH} failed: .+ \\((ECONNRESET|UND_ERR_SOCKET)\\)$`),
    );
  });

  it('a refused connection never reached the server', async () => {
    const port = await freePort();
    client = createSignalWireClient(profileOf(`http://127.0.0.1:${port}`));
    const err = await failure(
      client.updateParticipant(CONFERENCE_SID, CALL_SID, {
        AnnounceUrl: 'https://example.com/a.xml',
      }),
    );
    expect(err).toMatchObject({
      kind: 'transient',
      networkCode: 'ECONNREFUSED',
      reachedServer: false,
      status: undefined,
    });
    expect(err.message).toMatch(/failed: connection refused \(ECONNREFUSED\)$/);
  });

  it('a host name that does not resolve never reached the server', async () => {
    // `.invalid` never resolves (RFC 6761); a resolver that is down gives EAI_AGAIN or a connect timeout instead.
    client = createSignalWireClient(profileOf('https://confbulk-test.invalid'), {
      connectTimeoutMs: 2000,
    });
    const err = await failure(client.getParticipant(CONFERENCE_SID, CALL_SID));
    expect(err).toMatchObject({ kind: 'transient', reachedServer: false, status: undefined });
    expect(['ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']).toContain(err.networkCode);
  });

  it('silence beyond requestTimeoutMs is a transient headers timeout that may have reached the server', async () => {
    const api = await clientFor(() => {}, { requestTimeoutMs: 300 });
    const started = Date.now();
    const err = await failure(api.getParticipant(CONFERENCE_SID, CALL_SID));
    expect(err).toMatchObject({
      kind: 'transient',
      networkCode: 'UND_ERR_HEADERS_TIMEOUT',
      reachedServer: true,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a body that stalls beyond requestTimeoutMs is a transient body timeout', async () => {
    const api = await clientFor(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"call_sid":');
      },
      { requestTimeoutMs: 300 },
    );
    const err = await failure(api.getParticipant(CONFERENCE_SID, CALL_SID));
    expect(err).toMatchObject({
      kind: 'transient',
      networkCode: 'UND_ERR_BODY_TIMEOUT',
      status: 200,
      reachedServer: true,
    });
    expect(err.message).toMatch(
      /answered 200 but the body failed: response body stalled \(UND_ERR_BODY_TIMEOUT\)$/,
    );
  });

  it('an abort by the caller fails the request; one aborted before sending never reached the server', async () => {
    const api = await clientFor(() => {});
    const controller = new AbortController();
    const pending = failure(
      api.getParticipant(CONFERENCE_SID, CALL_SID, { signal: controller.signal }),
    );
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    expect(await pending).toMatchObject({
      kind: 'transient',
      networkCode: 'ABORT_ERR',
      reachedServer: true,
    });

    const sentBefore = server!.requests.length;
    const early = await failure(
      api.updateParticipant(
        CONFERENCE_SID,
        CALL_SID,
        { Muted: true },
        { signal: AbortSignal.abort() },
      ),
    );
    expect(early).toMatchObject({ networkCode: 'ABORT_ERR', reachedServer: false });
    expect(server!.requests.length).toBe(sentBefore);
  });
});
