/**
 * A bulk action is validated completely before anything is written: every error is a
 * ValidationError whose message starts with the field, and Redis holds no key afterwards.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { resolveAction } from '../../src/bulk-actions/actions.js';
import { validateBulkActionRequest } from '../../src/bulk-actions/request-schema.js';
import { keysUnder, SID, testConfig, withScene } from './support.js';

const CONF = SID(1);
const url = 'https://music.example.com/hold.mp3';

/** [what is wrong, request, field the error must name] */
const BAD: [string, unknown, string][] = [
  ['not an object', 'mute everyone', 'request'],
  ['unknown action', { action: 'explode', target: { conferenceSid: CONF } }, 'action'],
  ['missing action', { target: { conferenceSid: CONF } }, 'action'],
  ['missing target', { action: 'mute' }, 'target'],
  ['empty target', { action: 'mute', target: {} }, 'target'],
  [
    'both sid and name',
    { action: 'mute', target: { conferenceSid: CONF, conferenceName: 'x' } },
    'target.conferenceName',
  ],
  [
    'bad conference SID',
    { action: 'mute', target: { conferenceSid: 'CF-not-a-sid' } },
    'target.conferenceSid',
  ],
  [
    'callSids without conferenceSid',
    { action: 'mute', target: { conferenceName: 'x', callSids: [SID(2)] } },
    'target.callSids',
  ],
  [
    'empty callSids',
    { action: 'mute', target: { conferenceSid: CONF, callSids: [] } },
    'target.callSids',
  ],
  [
    'bad call SID in list',
    { action: 'mute', target: { conferenceSid: CONF, callSids: [SID(2), 'nope'] } },
    'target.callSids[1]',
  ],
  [
    'too many callSids',
    {
      action: 'mute',
      target: {
        conferenceSid: CONF,
        callSids: Array.from({ length: 10_001 }, (_, i) => SID(i + 10)),
      },
    },
    'target.callSids',
  ],
  [
    'too many except',
    {
      action: 'mute',
      target: {
        conferenceSid: CONF,
        except: Array.from({ length: 10_001 }, (_, i) => SID(i + 10)),
      },
    },
    'target.except',
  ],
  [
    'bad except SID',
    { action: 'mute', target: { conferenceSid: CONF, except: ['host'] } },
    'target.except[0]',
  ],
  [
    'friendly name too long',
    { action: 'mute', target: { conferenceName: 'x'.repeat(65) } },
    'target.conferenceName',
  ],
  [
    'unknown target field',
    { action: 'mute', target: { conferenceSid: CONF, room: 'a' } },
    'target.room',
  ],
  [
    'filter not boolean',
    { action: 'mute', target: { conferenceSid: CONF, filter: { muted: 'yes' } } },
    'target.filter.muted',
  ],
  [
    'filter with callSids',
    {
      action: 'mute',
      target: { conferenceSid: CONF, callSids: [SID(2)], filter: { muted: false } },
    },
    'target.filter',
  ],
  [
    'hold-music for participants not on hold',
    {
      action: 'hold-music',
      target: { conferenceSid: CONF, filter: { hold: false } },
      params: { HoldUrl: url },
    },
    'target.filter.hold',
  ],
  [
    'param the action sets itself',
    { action: 'mute', target: { conferenceSid: CONF }, params: { Muted: false } },
    'params.Muted',
  ],
  [
    'param of another action',
    { action: 'unhold', target: { conferenceSid: CONF }, params: { HoldUrl: url } },
    'params.HoldUrl',
  ],
  [
    'unknown parameter',
    { action: 'hold', target: { conferenceSid: CONF }, params: { BeepOnExit: true } },
    'params.BeepOnExit',
  ],
  [
    'ftp hold URL',
    { action: 'hold', target: { conferenceSid: CONF }, params: { HoldUrl: 'ftp://x/y.mp3' } },
    'params.HoldUrl',
  ],
  [
    'hold method without URL',
    { action: 'hold', target: { conferenceSid: CONF }, params: { HoldMethod: 'GET' } },
    'params.HoldMethod',
  ],
  [
    'bad method',
    {
      action: 'hold',
      target: { conferenceSid: CONF },
      params: { HoldUrl: url, HoldMethod: 'PUT' },
    },
    'params.HoldMethod',
  ],
  [
    'hold-music without URL',
    { action: 'hold-music', target: { conferenceSid: CONF } },
    'params.HoldUrl',
  ],
  [
    'wait-music without URL',
    { action: 'wait-music', target: { conferenceSid: CONF } },
    'params.WaitUrl',
  ],
  [
    'announce without URL',
    { action: 'announce', target: { conferenceSid: CONF } },
    'params.AnnounceUrl',
  ],
  [
    'announce with javascript URL',
    {
      action: 'announce',
      target: { conferenceSid: CONF },
      params: { AnnounceUrl: 'javascript:alert(1)' },
    },
    'params.AnnounceUrl',
  ],
  [
    'coach without call',
    { action: 'coach', target: { conferenceSid: CONF } },
    'params.CallSidToCoach',
  ],
  [
    'coach with bad call SID',
    { action: 'coach', target: { conferenceSid: CONF }, params: { CallSidToCoach: 'x' } },
    'params.CallSidToCoach',
  ],
  ['update without params', { action: 'update', target: { conferenceSid: CONF } }, 'params'],
  [
    'update coaching without call',
    { action: 'update', target: { conferenceSid: CONF }, params: { Coaching: true } },
    'params.CallSidToCoach',
  ],
  [
    'remove with params',
    { action: 'remove', target: { conferenceSid: CONF }, params: { Muted: true } },
    'params.Muted',
  ],
  ['unknown space', { action: 'mute', space: 'eu', target: { conferenceSid: CONF } }, 'space'],
  [
    'malformed space',
    { action: 'mute', space: 'EU West', target: { conferenceSid: CONF } },
    'space',
  ],
  [
    'idempotency key with spaces',
    { action: 'mute', target: { conferenceSid: CONF }, idempotencyKey: 'a b' },
    'idempotencyKey',
  ],
  [
    'idempotency key too long',
    { action: 'mute', target: { conferenceSid: CONF }, idempotencyKey: 'k'.repeat(201) },
    'idempotencyKey',
  ],
  [
    'webhook not http',
    { action: 'mute', target: { conferenceSid: CONF }, webhookUrl: 'file:///etc/passwd' },
    'webhookUrl',
  ],
  [
    'unknown top-level field',
    { action: 'mute', target: { conferenceSid: CONF }, priority: 'high' },
    'priority',
  ],
];

describe('bulk action validation', () => {
  it('rejects each bad request with a ValidationError naming the field, and writes nothing', async () => {
    await withScene(async ({ confbulk, redis, prefix }) => {
      for (const [what, request, field] of BAD) {
        const err = await confbulk.bulkAction(request as never).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, what).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field, what).toBe(field);
        expect(
          (err as ValidationError).message.startsWith(`${field}: `),
          `${what}: ${(err as Error).message}`,
        ).toBe(true);
      }
      expect(await keysUnder(redis, prefix)).toEqual([]);
    });
  });

  it('lists what is allowed: actions, and the parameters of the action', () => {
    const config = testConfig('unused');
    expect(() =>
      validateBulkActionRequest(config, { action: 'explode', target: { conferenceSid: CONF } }),
    ).toThrow(
      /mute, unmute, hold, unhold, hold-music, wait-music, announce, coach, remove, update/,
    );
    expect(() =>
      validateBulkActionRequest(config, {
        action: 'hold',
        target: { conferenceSid: CONF },
        params: { BeepOnExit: true },
      }),
    ).toThrow(
      "params.BeepOnExit: unknown parameter; allowed for action 'hold': HoldUrl, HoldMethod",
    );
    expect(() =>
      validateBulkActionRequest(config, {
        action: 'mute',
        space: 'eu',
        target: { conferenceSid: CONF },
      }),
    ).toThrow(/space: unknown space profile 'eu'; configured profiles: default/);
  });

  it('maps each action to its operation and parameters', () => {
    expect(resolveAction('mute')).toEqual({ op: 'update', params: { Muted: true } });
    expect(resolveAction('unmute')).toEqual({ op: 'update', params: { Muted: false } });
    expect(resolveAction('hold', { HoldUrl: url, HoldMethod: 'POST' })).toEqual({
      op: 'update',
      params: { Hold: true, HoldUrl: url, HoldMethod: 'POST' },
    });
    expect(resolveAction('unhold')).toEqual({ op: 'update', params: { Hold: false } });
    expect(resolveAction('hold-music', { HoldUrl: url })).toEqual({
      op: 'update',
      params: { HoldUrl: url },
    });
    expect(resolveAction('wait-music', { WaitUrl: url })).toEqual({
      op: 'update',
      params: { WaitUrl: url },
    });
    expect(resolveAction('announce', { AnnounceUrl: url })).toEqual({
      op: 'update',
      params: { AnnounceUrl: url },
    });
    expect(resolveAction('coach', { CallSidToCoach: SID(9) })).toEqual({
      op: 'update',
      params: { CallSidToCoach: SID(9), Coaching: true },
    });
    expect(resolveAction('remove')).toEqual({ op: 'remove', params: {} });
    expect(resolveAction('update', { Muted: true, AnnounceUrl: url })).toEqual({
      op: 'update',
      params: { Muted: true, AnnounceUrl: url },
    });
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'refuses space %j as an unknown profile, naming the configured ones',
    (space) => {
      expect(() =>
        validateBulkActionRequest(testConfig('unused'), {
          action: 'mute',
          space,
          target: { conferenceSid: CONF },
        }),
      ).toThrow(`space: unknown space profile '${space}'; configured profiles: default`);
    },
  );

  it('accepts SIDs in any case and keeps them lower-case, so except lists compare', () => {
    // SIDs with hex letters, so that upper-casing them changes them.
    const [conf, host, coach, listed] = [SID(0xdd1), SID(0xaa2), SID(0xbb3), SID(0xcc4)];
    const req = validateBulkActionRequest(testConfig('unused'), {
      action: 'coach',
      target: { conferenceSid: conf.toUpperCase(), except: [host.toUpperCase(), host] },
      params: { CallSidToCoach: coach.toUpperCase() },
    });
    expect(req.target).toEqual({ conferenceSid: conf, except: [host] });
    expect(req.params.CallSidToCoach).toBe(coach);
    const explicit = validateBulkActionRequest(testConfig('unused'), {
      action: 'mute',
      target: { conferenceSid: conf, callSids: [listed.toUpperCase()] },
    });
    expect(explicit.target.callSids).toEqual([listed]);
    // Twilio-style SIDs keep their upper-case prefix; only the hex is lower-cased.
    const twilio = validateBulkActionRequest(testConfig('unused'), {
      action: 'mute',
      target: { conferenceSid: `cf${'AB'.repeat(16)}` },
    });
    expect(twilio.target.conferenceSid).toBe(`CF${'ab'.repeat(16)}`);
  });

  it('normalises a valid request: default space, de-duplicated lists, implied filter', () => {
    const req = validateBulkActionRequest(testConfig('unused'), {
      action: 'hold-music',
      target: { conferenceSid: CONF, except: [SID(2), SID(2)] },
      params: { HoldUrl: url },
    });
    expect(req).toEqual({
      action: 'hold-music',
      space: 'default',
      target: { conferenceSid: CONF, except: [SID(2)], filter: { hold: true } },
      params: { HoldUrl: url },
      op: 'update',
    });
  });
});
