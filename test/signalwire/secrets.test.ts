/**
 * The API token never leaves the Authorization header: not in error messages, toJSON(),
 * stacks, causes, inspection output or debug logs, whichever way a request fails, even
 * when a server echoes the credentials back.
 */
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/redis.js';
import { createLogger } from '../../src/logger.js';
import { mockSpaceProfile, startMock, type MockServer } from '../../src/mock/index.js';
import type { ParticipantsApi } from '../../src/signalwire/api.js';
import { createSignalWireClient } from '../../src/signalwire/client.js';
import { SignalWireError } from '../../src/signalwire/errors.js';
import type { SpaceProfile } from '../../src/signalwire/types.js';
import {
  CALL_SID,
  CONFERENCE_SID,
  startScriptedServer,
  type ScriptedServer,
} from './helpers/scripted-server.js';

const TOKEN = 'PT4f1c9e0b7a6d5c3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7';

let lines: string[];
let clients: ParticipantsApi[];
let mock: MockServer;
let echo: ScriptedServer;

function forbiddenForms(profile: SpaceProfile): string[] {
  const pair = `${profile.projectId}:${TOKEN}`;
  return [TOKEN, Buffer.from(pair).toString('base64'), TOKEN.slice(4, 24)];
}

function clientFor(profile: SpaceProfile, requestTimeoutMs = 15_000): ParticipantsApi {
  // No `secrets` for the logger: the client itself must keep the token out.
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void lines.push(line) },
  });
  const client = createSignalWireClient(profile, { logger, requestTimeoutMs });
  clients.push(client);
  return client;
}

function everyRendering(err: SignalWireError): string[] {
  return [
    err.message,
    JSON.stringify(err.toJSON()),
    JSON.stringify(err),
    err.stack ?? '',
    String(err.cause),
    inspect(err, { depth: 10 }),
  ];
}

async function failure(promise: Promise<unknown>): Promise<SignalWireError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SignalWireError);
  return err as SignalWireError;
}

beforeEach(async () => {
  lines = [];
  clients = [];
  mock = await startMock({ rateLimit: null });
  // A misbehaving proxy that puts the request's credentials into its error page.
  echo = await startScriptedServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const decoded = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8');
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        code: 20001,
        message: `bad request with ${auth} (${decoded})`,
        more_info: `https://x/?t=${TOKEN}`,
      }),
    );
  });
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await mock.stop();
  await echo.close();
});

describe('the API token', () => {
  it('is absent from every failure and from debug logs', async () => {
    const account = mock.createAccount({ token: TOKEN });
    const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
    const profile = mockSpaceProfile(mock, account, 'secret-test');
    const api = clientFor(profile);
    const errors: SignalWireError[] = [];

    errors.push(
      await failure(
        api.updateParticipant(sid, '11111111-2222-4333-8444-555555555555', { Muted: true }),
      ),
    );
    mock.setFaults({ errorRate: 1, errorStatuses: [500] });
    errors.push(await failure(api.updateParticipant(sid, callSids[0]!, { Muted: true })));
    mock.clearFaults();
    mock.force429(5000);
    errors.push(await failure(api.updateParticipant(sid, callSids[0]!, { Muted: true })));
    mock.clearFaults();
    mock.outage(5000, 'reset');
    errors.push(await failure(api.getParticipant(sid, callSids[0]!)));
    mock.clearFaults();
    expect((await api.updateParticipant(sid, callSids[0]!, { Hold: true })).participant.hold).toBe(
      true,
    );

    const echoed = clientFor({ ...profile, spaceUrl: echo.url });
    errors.push(await failure(echoed.updateParticipant(CONFERENCE_SID, CALL_SID, { Muted: true })));
    const silent = await startScriptedServer(() => {});
    try {
      errors.push(
        await failure(
          clientFor({ ...profile, spaceUrl: silent.url }, 200).getParticipant(
            CONFERENCE_SID,
            CALL_SID,
          ),
        ),
      );
    } finally {
      await silent.close();
    }
    const closedPort = await freePort();
    errors.push(
      await failure(
        clientFor({ ...profile, spaceUrl: `http://127.0.0.1:${closedPort}` }).getParticipant(
          CONFERENCE_SID,
          CALL_SID,
        ),
      ),
    );

    expect(errors.map((e) => e.kind)).toEqual([
      'gone',
      'transient',
      'rate_limited',
      'transient',
      'invalid',
      'transient',
      'transient',
    ]);
    expect(errors[4]!.apiMessage).toBe('bad request with Basic [redacted] ([redacted])');
    const forbidden = forbiddenForms(profile);
    for (const err of errors) {
      for (const text of everyRendering(err)) {
        for (const secret of forbidden)
          expect(text, `${err.message} leaks in ${text.slice(0, 80)}`).not.toContain(secret);
      }
    }

    expect(lines.length).toBeGreaterThanOrEqual(7);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({
      level: 20,
      method: 'POST',
      status: 404,
      space: 'secret-test',
      msg: 'signalwire request',
    });
    expect(typeof first.durationMs).toBe('number');
    const log = lines.join('\n');
    expect(log).toMatch(/"networkCode":"(ECONNRESET|UND_ERR_SOCKET)"/);
    expect(log.toLowerCase()).not.toContain('authorization');
    for (const secret of forbidden) expect(log).not.toContain(secret);
  });

  it('is absent from the inspected client and from construction errors', () => {
    const profile: SpaceProfile = {
      name: 'p',
      spaceUrl: 'https://example.signalwire.com',
      projectId: 'proj',
      apiToken: TOKEN,
    };
    const api = clientFor(profile);
    expect(inspect(api, { depth: 10, showHidden: true })).not.toContain(TOKEN);
    expect(JSON.stringify(api)).not.toContain(TOKEN);
    const bad = (): unknown =>
      createSignalWireClient({ ...profile, spaceUrl: `http://example.com/${TOKEN}` });
    expect(bad).toThrow(/must use https/);
    expect(bad).not.toThrow(new RegExp(TOKEN));
  });
});
