/**
 * A real `node:http` server on 127.0.0.1 whose answers a test scripts, for answers the
 * mock does not give on purpose: cut-off HTML pages, resets, silence. Every request is
 * recorded as it arrived.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SpaceProfile } from '../../../src/signalwire/types.js';

export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Client port of the connection: equal ports mean a reused keep-alive connection. */
  remotePort: number | undefined;
}

export type Script = (req: RecordedRequest, res: ServerResponse) => void;

export interface ScriptedServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  requests: RecordedRequest[];
  /** Replaces the script for the next requests. */
  script: Script;
  close(): Promise<void>;
}

export const PROJECT_ID = '6f0c7a1e-5b1d-4d7e-9a55-1f3e2b8c9d10';
export const CONFERENCE_SID = 'a3c5e7f9-1b2d-4f6a-8c0e-2d4f6a8c0e1b';
export const CALL_SID = 'b4d6f8a0-2c3e-4a7b-9d1f-3e5a7b9d1f2c';

export async function startScriptedServer(script: Script): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const state: { script: Script } = { script };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: req.socket.remotePort,
      };
      requests.push(recorded);
      state.script(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get script() {
      return state.script;
    },
    set script(next: Script) {
      state.script = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Runs `fn` with a scripted server, closing it whatever happens. */
export async function withScriptedServer<T>(
  script: Script,
  fn: (server: ScriptedServer) => Promise<T>,
): Promise<T> {
  const server = await startScriptedServer(script);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

export function profileOf(url: string, apiToken = 'PTtest0123456789abcdef'): SpaceProfile {
  return { name: 'scripted', spaceUrl: url, projectId: PROJECT_ID, apiToken };
}

/** Answers JSON with the given status and extra headers. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Script {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

export function participantJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    account_sid: PROJECT_ID,
    call_sid: CALL_SID,
    call_sid_to_coach: null,
    coaching: false,
    conference_sid: CONFERENCE_SID,
    date_created: 'Tue, 02 Jan 2024 15:04:05 +0000',
    date_updated: 'Tue, 02 Jan 2024 15:04:05 +0000',
    end_conference_on_exit: false,
    muted: false,
    hold: false,
    start_conference_on_enter: true,
    status: 'in-progress',
    uri: `/api/laml/2010-04-01/Accounts/${PROJECT_ID}/Conferences/${CONFERENCE_SID}/Participants/${CALL_SID}.json`,
    ...overrides,
  };
}
