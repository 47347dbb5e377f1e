import { describe, expect, it } from 'vitest';
import { CALL_SID, CONFERENCE_SID, cliEnv, confbulk, withPrefix } from './run-cli.js';

const conf = ['--conference', CONFERENCE_SID];

/** Invalid command lines and what the message must name. */
const CASES: { args: string[]; names: RegExp }[] = [
  { args: ['mute'], names: /--conference/ },
  { args: ['mute', ...conf, '--conference-name', 'standup'], names: /--conference-name/ },
  {
    args: ['mute', '--conference', 'not-a-sid'],
    names: /target\.conferenceSid: must be a UUID.*\(--conference\)/,
  },
  {
    args: ['mute', ...conf, '--call', CALL_SID, 'nope'],
    names: /target\.callSids\[1\].*\(--call\)/,
  },
  { args: ['mute', ...conf, '--filter-muted', 'maybe'], names: /--filter-muted.*true or false/ },
  {
    args: ['mute', ...conf, '--hold-url', 'https://x.test/a.mp3'],
    names: /unknown option '--hold-url'/,
  },
  { args: ['hold-music', ...conf], names: /--hold-url/ },
  {
    args: ['hold', ...conf, '--hold-url', 'ftp://x.test/a.mp3'],
    names: /--hold-url.*http:\/\/ or https:\/\//s,
  },
  {
    args: ['hold', ...conf, '--hold-url', 'https://x.test/a.mp3', '--hold-method', 'PUT'],
    names: /--hold-method.*GET, POST/,
  },
  { args: ['announce', ...conf], names: /--announce-url/ },
  {
    args: ['coach', ...conf, '--call-sid-to-coach', 'x'],
    names: /CallSidToCoach.*\(--call-sid-to-coach\)/,
  },
  { args: ['update', ...conf], names: /--set/ },
  { args: ['update', ...conf, '--set', 'Volume=3'], names: /--set: unknown parameter 'Volume'/ },
  {
    args: ['update', ...conf, '--set', 'Muted=perhaps'],
    names: /--set Muted must be true or false/,
  },
  { args: ['mute', ...conf, '--space', 'nowhere'], names: /space.*nowhere.*default/ },
  {
    args: ['mute', ...conf, '--space', 'constructor'],
    names: /unknown space profile 'constructor'; configured profiles: default/,
  },
  {
    args: ['mute', ...conf, '--space', '__proto__'],
    names: /unknown space profile '__proto__'; configured profiles: default/,
  },
  {
    args: ['resume', '--space', 'constructor'],
    names: /unknown space profile 'constructor'; configured profiles: default/,
  },
  {
    args: ['mute', ...conf, '--idempotency-key', 'two words'],
    names: /idempotencyKey.*\(--idempotency-key\)/,
  },
  { args: ['mute', ...conf, '--webhook-url', 'nope'], names: /--webhook-url/ },
  { args: ['mute', ...conf, '--wait', '--wait-timeout', '-1'], names: /--wait-timeout/ },
  { args: ['schedule', 'add', 'mute', '--name', 'n', ...conf], names: /--at.*--cron/ },
  {
    args: ['schedule', 'add', 'mute', '--name', 'n', '--cron', 'whenever', ...conf],
    names: /cron/,
  },
  {
    args: ['schedule', 'add', 'mute', '--name', 'n', '--at', '2000-01-01T00:00:00Z', ...conf],
    names: /^confbulk: at/,
  },
  { args: ['status'], names: /missing required argument 'id'/ },
  { args: ['batches', '--limit', '0'], names: /--limit.*1 to 1000/ },
  { args: ['dlq', 'replay'], names: /ids.*--all/ },
  { args: ['dlq', 'replay', 'x', '--all'], names: /not both/ },
  { args: ['dlq', 'replay', '--all', '--set', 'HoldUrl=ftp://x'], names: /--set HoldUrl/ },
  { args: ['dlq', 'purge'], names: /--all/ },
  { args: ['resume', '--space', 'nowhere'], names: /nowhere/ },
  { args: ['worker', '--concurrency', '0'], names: /--concurrency.*1 to 5000/ },
  { args: ['mock', '--rate-limit', 'lots'], names: /--rate-limit/ },
  { args: ['frobnicate'], names: /unknown command 'frobnicate'/ },
];

describe('invalid input', () => {
  it('exits 2 with a message naming the field, and enqueues nothing', async () => {
    await withPrefix(async ({ prefix, workKeys }) => {
      const env = cliEnv(prefix, { CONFBULK_WEBHOOK_SECRET: 'webhook-secret-0123456789' });
      for (const { args, names } of CASES) {
        const { code, stdout, stderr } = await confbulk(env, ...args);
        expect({ args, code, stdout }).toEqual({ args, code: 2, stdout: '' });
        expect(stderr, args.join(' ')).toMatch(/^confbulk: /);
        expect(stderr, args.join(' ')).toMatch(names);
      }
      expect(await workKeys()).toEqual([]);
    });
  });

  it('names REDIS_URL when it is not set', async () => {
    const env = cliEnv('unused', { REDIS_URL: '' });
    for (const args of [
      ['mute', ...conf],
      ['status', 'b-1'],
      ['dlq', 'list'],
      ['resume', '--space', 'default'],
      ['worker'],
      ['api'],
    ]) {
      const { code, stderr } = await confbulk(env, ...args);
      expect({ args, code }).toEqual({ args, code: 2 });
      expect(stderr).toMatch(/^confbulk: REDIS_URL is not set/);
    }
  });

  it('reports bad input before connecting, and an unreachable Redis with exit 2', async () => {
    const env = cliEnv('unused', { REDIS_URL: 'redis://127.0.0.1:1' });
    const started = Date.now();
    const bad = await confbulk(env, 'mute', '--conference', 'not-a-sid');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/target\.conferenceSid/);
    expect(Date.now() - started).toBeLessThan(5000);
    const refusedAt = Date.now();
    const unreachable = await confbulk(env, 'mute', ...conf);
    // A refused connection is known at the first connect attempt: no waiting out a timeout.
    expect(Date.now() - refusedAt).toBeLessThan(2000);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(
      /^confbulk: Redis at 127\.0\.0\.1:1 cannot be reached \(ECONNREFUSED\).*REDIS_URL/,
    );
    for (const args of [
      ['status', 'b-1'],
      ['dlq', 'list'],
      ['resume', '--space', 'default'],
    ]) {
      const started = Date.now();
      const { code, stderr } = await confbulk(env, ...args);
      expect({ args, code, fast: Date.now() - started < 2000 }).toEqual({
        args,
        code: 2,
        fast: true,
      });
      expect(stderr).toMatch(/cannot be reached \(ECONNREFUSED\).*REDIS_URL/);
    }
  }, 30_000);

  it('exits 2 naming REDIS_URL when it is malformed or not a Redis URL, without echoing it', async () => {
    for (const [url, says] of [
      ['notaurl', /^confbulk: REDIS_URL is not a valid URL: expected redis:\/\//],
      ['http://127.0.0.1:6379', /^confbulk: REDIS_URL has the scheme 'http', which is not Redis/],
      ['redis://:pass-w0rd@', /^confbulk: REDIS_URL (is not a valid URL|names no host)/],
    ] as const) {
      const env = cliEnv('unused', { REDIS_URL: url });
      for (const args of [['mute', ...conf], ['status', 'b-1'], ['worker']]) {
        const started = Date.now();
        const { code, stderr } = await confbulk(env, ...args);
        expect({ url, args, code }).toEqual({ url, args, code: 2 });
        expect(stderr).toMatch(says);
        expect(stderr).not.toContain('pass-w0rd');
        expect(Date.now() - started).toBeLessThan(2000);
      }
    }
  });

  it('exits 2 for configuration errors in the environment', async () => {
    const { code, stderr } = await confbulk(
      cliEnv('unused', { CONFBULK_RATE_LIMIT: 'fast' }),
      'mute',
      ...conf,
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/^confbulk: CONFBULK_RATE_LIMIT must look like/);
  });
});
