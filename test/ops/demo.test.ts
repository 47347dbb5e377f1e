/**
 * The demo as a specification: against the mock, with trouble, everyone but the host ends
 * up muted except the participants the API rejected (dead-lettered) and those who left; the
 * summary agrees with the mock's final state; and a configured real space is never touched
 * without an explicit conference.
 */
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { DemoRefusedError, runDemo } from '../../scripts/demo.js';
import { parseDemoArgs } from '../../scripts/demo/options.js';
import { deleteKeys, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

const prefixes: string[] = [];

/** How long the demo's batch may take. */
const DEMO_LIMIT_MS = 20_000;

afterAll(async () => {
  const redis = testRedis();
  for (const prefix of prefixes) await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe('runDemo against the mock', () => {
  it(
    'mutes everyone but the host through outage, 429s, leavers and rejected calls',
    { timeout: 2 * DEMO_LIMIT_MS },
    async () => {
      const prefix = uniquePrefix();
      prefixes.push(prefix);
      const out = collector();
      const summary = await runDemo({
        participants: 200,
        env: {},
        redisUrl: testRedisUrl(),
        prefix,
        progress: 'lines',
        out: out.stream,
      });

      expect(summary.mode).toBe('mock');
      expect(summary.verified).toBe(true);
      expect(summary.notMuted).toEqual([]);
      expect(summary.total).toBe(199);
      expect(summary.succeeded + summary.gone + summary.deadLettered + summary.superseded).toBe(
        199,
      );

      // The two rejected participants are dead letters, and the only ones.
      expect(summary.trouble?.rejected).toHaveLength(2);
      expect(summary.deadLetteredCallSids).toEqual(summary.trouble?.rejected);
      expect(summary.deadLettered).toBe(2);

      // Only leavers can be gone, and the mock's final state matches the counts.
      const leavers = summary.trouble?.leavers ?? [];
      expect(summary.gone).toBeLessThanOrEqual(leavers.length);
      expect(summary.remaining).toBeGreaterThanOrEqual(200 - leavers.length);
      // The host never leaves the demo's conference: it is there, and the one left unmuted
      // besides the two rejected participants.
      expect(summary.trouble?.leavers).not.toContain(summary.host);
      expect(summary.hostUnmuted).toBe(true);
      expect(summary.remaining - summary.mutedRemaining).toBe(1 + 2);

      // The trouble showed: 503s were retried, 429s were answered and more requests were sent.
      expect(summary.retries).toBeGreaterThan(0);
      expect(summary.rateLimited).toBeGreaterThan(0);
      expect(summary.requests).toBeGreaterThan(summary.succeeded);
      expect(summary.requestRate).toBeGreaterThan(0);
      // About 5 s alone (a 1.5 s outage and a 1 s burst of 429s included); the limit leaves
      // room for a loaded machine and sits well below this test's own timeout, so that a slow
      // demo fails here rather than as a timeout.
      expect(summary.elapsedMs).toBeLessThan(DEMO_LIMIT_MS);

      const text = out.text();
      expect(text).toContain('trouble: the API answers 503');
      expect(text).toContain('trouble: the API answers 429');
      expect(text).toMatch(/muted \(succeeded\)\s+\d+/);
      expect(text).toContain('Check: OK');
      expect(text).toContain('/admin');
      expect(text).toContain('npx confbulk dlq list');
      expect(text).toContain('npm run demo -- --keep');
    },
  );

  it('with --keep, leaves the API, dashboard and CLI on the run until stopped', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const out = collector();
    const stop = new AbortController();
    let seen: { batch: unknown; dlqTotal: unknown; login: number; cli: string } | undefined;
    const summary = await runDemo({
      participants: 50,
      env: {},
      redisUrl: testRedisUrl(),
      prefix,
      progress: 'none',
      out: out.stream,
      keep: true,
      apiPort: 0,
      signal: stop.signal,
      onKept: (kept) => {
        void (async () => {
          const auth = { authorization: `Bearer ${kept.apiToken}` };
          const batchId = kept.batchId;
          const batch = (await (
            await fetch(`${kept.apiUrl}/v1/batches/${batchId}`, { headers: auth })
          ).json()) as { id: string; state: string };
          const dlq = (await (
            await fetch(`${kept.apiUrl}/v1/dead-letters?batchId=${batchId}`, { headers: auth })
          ).json()) as { total: number };
          const login = (await fetch(`${kept.dashboardUrl}/login`)).status;
          const env = Object.fromEntries(
            kept.exports.map((line) => {
              const m = /^export (\w+)=(?:'(.*)'|(\S*))$/.exec(line);
              return [m?.[1] ?? '', m?.[2] ?? m?.[3] ?? ''];
            }),
          );
          const { confbulk } = await import('../cli/run-cli.js');
          const status = await confbulk(env, 'status', batch.id);
          seen = { batch, dlqTotal: dlq.total, login, cli: status.stdout };
          stop.abort();
        })().catch((err: unknown) => {
          seen = { batch: String(err), dlqTotal: -1, login: 0, cli: '' };
          stop.abort();
        });
      },
    });
    expect(summary.verified).toBe(true);
    expect(seen).toMatchObject({
      batch: { id: summary.batchId, state: 'completed' },
      dlqTotal: summary.deadLettered,
      login: 200,
    });
    expect(seen?.cli).toMatch(new RegExp(`^batch ${summary.batchId}: mute .* completed`));
    expect(out.text()).toMatch(/Kept open until Ctrl-C/);
    expect(out.text()).toMatch(/export CONFBULK_API_TOKEN=[0-9a-f]{32}/);
  });
});

describe('runDemo with SIGNALWIRE_* set', () => {
  const env = {
    SIGNALWIRE_SPACE_URL: 'https://example.signalwire.com',
    SIGNALWIRE_PROJECT_ID: 'project',
    SIGNALWIRE_API_TOKEN: 'secret-token',
  };

  it('refuses to touch the real space unless a conference is named', async () => {
    const out = collector();
    await expect(runDemo({ env, out: out.stream })).rejects.toThrow(DemoRefusedError);
    await expect(runDemo({ env, out: out.stream })).rejects.toThrow(/--conference/);
    expect(out.text()).toBe('');
  });

  it('refuses --conference without a real space', async () => {
    await expect(
      runDemo({ env: {}, conferenceSid: '3fe57399-7fea-4692-9278-8c8a5fe0e97d' }),
    ).rejects.toThrow(/SIGNALWIRE_SPACE_URL/);
  });
});

describe('the demo command line', () => {
  it('parses its flags and names the bad one', () => {
    expect(
      parseDemoArgs(['--participants', '50', '--rate-limit', '100/1s', '--no-trouble']).options,
    ).toEqual({
      participants: 50,
      rateLimit: { count: 100, durationMs: 1000 },
      trouble: false,
    });
    expect(parseDemoArgs(['--keep', '--api-port', '3100']).options).toEqual({
      keep: true,
      apiPort: 3100,
    });
    expect(() => parseDemoArgs(['--api-port', '3100'])).toThrow(/only applies with --keep/);
    expect(() => parseDemoArgs(['--participants', '0'])).toThrow(
      /--participants must be a whole number/,
    );
    expect(() => parseDemoArgs(['--conference', 'nope'])).toThrow(
      /--conference must be a conference SID/,
    );
    expect(() => parseDemoArgs(['--bogus'])).toThrow();
  });
});
