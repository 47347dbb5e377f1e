import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { runMockCli } from '../../src/mock/index.js';
import { confbulk } from '../cli/run-cli.js';
import { authHeader } from './support.js';

/** Reads `export KEY=value` lines into a record (every other line is a `#` comment). */
function envLines(lines: string[]): Record<string, string> {
  for (const line of lines) expect(line).toMatch(/^(export [A-Z_]+=\S+|# .*)$/);
  return Object.fromEntries(
    lines
      .filter((l) => l.startsWith('export '))
      .map((l) => l.slice('export '.length))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

async function fetchConference(env: Record<string, string>): Promise<Response> {
  return fetch(
    `${env.SIGNALWIRE_SPACE_URL}/api/laml/2010-04-01/Accounts/${env.SIGNALWIRE_PROJECT_ID}/Conferences/${env.CONFERENCE_SID}/Participants`,
    {
      headers: {
        authorization: authHeader(
          env.SIGNALWIRE_PROJECT_ID as string,
          env.SIGNALWIRE_API_TOKEN as string,
        ),
      },
    },
  );
}

describe('runMockCli', () => {
  it("keeps the credentials it is given, and lists a conference's call SIDs", async () => {
    const accountSid = '4f1b6e6a-0000-4000-8000-0000000000aa';
    const token = 'PTkept-token-0123456789';
    const lines: string[] = [];
    const running = await runMockCli({
      port: 0,
      host: '127.0.0.1',
      accountSid,
      token,
      participants: 3,
      rateLimit: null,
      write: (line) => lines.push(line),
    });
    try {
      const env = envLines(lines);
      expect(env).toMatchObject({ SIGNALWIRE_PROJECT_ID: accountSid, SIGNALWIRE_API_TOKEN: token });
      const first = running.conference?.callSids[0] as string;
      expect(lines).toContain(`# its first participant (e.g. for --except): ${first}`);
      const calls = await confbulk(
        { SIGNALWIRE_SPACE_URL: env.SIGNALWIRE_SPACE_URL },
        'mock',
        'calls',
        env.CONFERENCE_SID as string,
      );
      expect(calls.code, calls.stderr).toBe(0);
      expect(calls.stdout.trim().split('\n')).toEqual(
        (running.conference?.callSids ?? []).map((sid) => `${sid}  muted=false  hold=false`),
      );
      const unknown = await confbulk(
        { SIGNALWIRE_SPACE_URL: env.SIGNALWIRE_SPACE_URL },
        'mock',
        'calls',
        '4f1b6e6a-9999-4000-8000-000000000009',
      );
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/has no conference 4f1b6e6a-9999/);
    } finally {
      await running.stop();
    }
  });

  it('prints how to reach the mock, with a ready conference, and stops', async () => {
    const lines: string[] = [];
    const running = await runMockCli({
      port: 0,
      host: '127.0.0.1',
      participants: 7,
      friendlyName: 'demo',
      rateLimit: null,
      write: (line) => lines.push(line),
    });
    try {
      const env = envLines(lines);
      expect(env).toEqual({
        SIGNALWIRE_SPACE_URL: running.mock.url,
        SIGNALWIRE_PROJECT_ID: running.account.accountSid,
        SIGNALWIRE_API_TOKEN: running.account.token,
        CONFERENCE_SID: running.conference?.sid,
      });
      const res = await fetchConference(env);
      expect(((await res.json()) as { participants: unknown[] }).participants).toHaveLength(7);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
      expect(running.mock.conference(env.CONFERENCE_SID as string)?.friendlyName).toBe('demo');
    } finally {
      await running.stop();
    }
    await running.stopped;
    await running.stop();
  });

  it("starts with SignalWire's documented answers, or those asked for", async () => {
    const answers = { retryAfter: 'seconds', leavers: { update: 404, retrieve: 404 } } as const;
    const running = await runMockCli({
      port: 0,
      host: '127.0.0.1',
      participants: 2,
      // The leaver's POST counts too: two fit, the third is refused.
      rateLimit: { count: 2, durationMs: 60_000 },
      answers,
      write: () => {},
    });
    try {
      const [present, leaver] = running.conference?.callSids as [string, string];
      const base = `${running.mock.apiUrl}/Accounts/${running.account.accountSid}/Conferences/${running.conference?.sid}/Participants`;
      const headers = {
        authorization: authHeader(running.account.accountSid, running.account.token),
      };
      const post = (callSid: string) =>
        fetch(`${base}/${callSid}.json`, {
          method: 'POST',
          headers,
          body: new URLSearchParams({ Muted: 'true' }),
        });
      await fetch(`${base}/${leaver}.json`, { method: 'DELETE', headers });
      expect((await post(leaver)).status).toBe(404);
      expect((await post(present)).status).toBe(200);
      const limited = await post(present);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await running.stop();
    }
  });

  it('runs as a process that exits cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/mock/main.ts', '--participants', '3'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('# control API')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`mock exited early with ${code}: ${out}`)));
      });
      const res = await fetchConference(envLines(out.split('\n').filter(Boolean)));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { participants: unknown[] }).participants).toHaveLength(3);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
