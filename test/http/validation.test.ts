import { describe, expect, it } from 'vitest';
import { auth, CALL_SID, CONFERENCE_SID, withApi } from './fixture.js';

const target = { conferenceSid: CONFERENCE_SID };

/** Bad bodies of POST /v1/bulk-actions and the field each answer must name. */
const BAD_BODIES: { name: string; body: unknown; field: string; says?: RegExp }[] = [
  { name: 'empty object', body: {}, field: 'action' },
  {
    name: 'unknown action',
    body: { action: 'explode', target },
    field: 'action',
    says: /mute, unmute/,
  },
  { name: 'no target', body: { action: 'mute' }, field: 'target', says: /required/ },
  { name: 'target without a conference', body: { action: 'mute', target: {} }, field: 'target' },
  {
    name: 'conference SID not a UUID',
    body: { action: 'mute', target: { conferenceSid: 'CF-nope' } },
    field: 'target.conferenceSid',
    says: /UUID/,
  },
  {
    name: 'conference by SID and by name',
    body: { action: 'mute', target: { conferenceSid: CONFERENCE_SID, conferenceName: 'standup' } },
    field: 'target.conferenceName',
  },
  {
    name: 'empty conference name',
    body: { action: 'mute', target: { conferenceName: '' } },
    field: 'target.conferenceName',
  },
  {
    name: 'call SIDs without a conference SID',
    body: { action: 'mute', target: { conferenceName: 'x', callSids: [CALL_SID] } },
    field: 'target.callSids',
  },
  {
    name: 'call SID not a UUID',
    body: { action: 'mute', target: { ...target, callSids: [CALL_SID, 'nope'] } },
    field: 'target.callSids[1]',
  },
  {
    name: 'except not an array',
    body: { action: 'mute', target: { ...target, except: CALL_SID } },
    field: 'target.except',
  },
  {
    name: 'filter value not a boolean',
    body: { action: 'mute', target: { ...target, filter: { muted: 'yes' } } },
    field: 'target.filter.muted',
    says: /boolean/,
  },
  {
    name: 'unknown filter',
    body: { action: 'mute', target: { ...target, filter: { loud: true } } },
    field: 'target.filter.loud',
    says: /muted, hold/,
  },
  {
    name: 'HoldUrl not http(s)',
    body: { action: 'hold', target, params: { HoldUrl: 'ftp://example.com/music.mp3' } },
    field: 'params.HoldUrl',
    says: /^params\.HoldUrl: must be an http:\/\/ or https:\/\/ URL/,
  },
  {
    name: 'HoldMethod not GET/POST',
    body: {
      action: 'hold',
      target,
      params: { HoldUrl: 'https://x.test/a.mp3', HoldMethod: 'PUT' },
    },
    field: 'params.HoldMethod',
    says: /GET or POST/,
  },
  {
    name: 'hold-music without HoldUrl',
    body: { action: 'hold-music', target },
    field: 'params.HoldUrl',
    says: /required/,
  },
  {
    name: 'parameter the action sets itself',
    body: { action: 'mute', target, params: { Muted: false } },
    field: 'params.Muted',
  },
  {
    name: 'unknown parameter',
    body: { action: 'update', target, params: { Volume: 3 } },
    field: 'params.Volume',
  },
  {
    name: 'coach without CallSidToCoach',
    body: { action: 'coach', target },
    field: 'params.CallSidToCoach',
  },
  {
    name: 'unknown top-level field',
    body: { action: 'mute', target, priority: 1 },
    field: 'priority',
    says: /allowed: action, space, target/,
  },
  {
    name: 'space name malformed',
    body: { action: 'mute', target, space: 'Bad Space!' },
    field: 'space',
  },
  {
    name: 'space not configured',
    body: { action: 'mute', target, space: 'nowhere' },
    field: 'space',
    says: /default/,
  },
  {
    name: 'space named like an Object.prototype member',
    body: { action: 'mute', target, space: 'constructor' },
    field: 'space',
    says: /unknown space profile 'constructor'; configured profiles: default/,
  },
  {
    name: 'space named __proto__',
    body: { action: 'mute', target, space: '__proto__' },
    field: 'space',
    says: /unknown space profile '__proto__'; configured profiles: default/,
  },
  {
    name: 'idempotency key with spaces',
    body: { action: 'mute', target, idempotencyKey: 'two words' },
    field: 'idempotencyKey',
  },
  {
    name: 'webhook URL not a URL',
    body: { action: 'mute', target, webhookUrl: 'not a url' },
    field: 'webhookUrl',
  },
  { name: 'body is an array', body: [{ action: 'mute', target }], field: 'body' },
  { name: 'body is a string', body: 'mute', field: 'body' },
];

describe('POST /v1/bulk-actions validation', () => {
  it('answers 400 naming the field for every bad body, and enqueues nothing', async () => {
    await withApi(async ({ app, workKeys }) => {
      const before = await workKeys();
      for (const { name, body, field, says } of BAD_BODIES) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/bulk-actions',
          headers: { ...auth, 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        const answer = res.json<{ error: string; message: string; field?: string }>();
        expect({ name, status: res.statusCode, field: answer.field }).toEqual({
          name,
          status: 400,
          field,
        });
        expect(answer.error, name).toBe('ValidationError');
        expect(answer.message.startsWith(field), `${name}: ${answer.message}`).toBe(true);
        if (says) expect(answer.message, name).toMatch(says);
      }
      expect(BAD_BODIES.length).toBeGreaterThanOrEqual(15);
      expect(await workKeys()).toEqual(before);
    });
  });

  it('answers 400 naming the body for JSON that does not parse, and 413 above 1 MiB', async () => {
    await withApi(async ({ app, workKeys }) => {
      const before = await workKeys();
      const broken = await app.inject({
        method: 'POST',
        url: '/v1/bulk-actions',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: '{"action": "mute", ',
      });
      expect(broken.statusCode).toBe(400);
      expect(broken.json()).toMatchObject({ error: 'ValidationError', field: 'body' });

      const huge = await app.inject({
        method: 'POST',
        url: '/v1/bulk-actions',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: JSON.stringify({
          action: 'mute',
          target: { ...target, except: Array(40_000).fill(CALL_SID) },
        }),
      });
      expect(huge.statusCode).toBe(413);
      expect(huge.json()).toMatchObject({ error: 'PayloadTooLarge', field: 'body' });
      expect(huge.json<{ message: string }>().message).toContain('1048576');
      expect(await workKeys()).toEqual(before);
    });
  });

  it('answers 400 naming the query parameter for a bad list limit', async () => {
    await withApi(async ({ app }) => {
      for (const limit of ['0', '1001', 'ten', '2.5']) {
        const res = await app.inject({
          method: 'GET',
          url: `/v1/batches?limit=${limit}`,
          headers: auth,
        });
        expect(res.statusCode, limit).toBe(400);
        expect(res.json(), limit).toMatchObject({ error: 'ValidationError', field: 'limit' });
        expect(res.json<{ message: string }>().message).toMatch(
          /^limit: must be a whole number from 1 to 1000/,
        );
      }
      const unknown = await app.inject({
        method: 'GET',
        url: '/v1/batches?sort=asc',
        headers: auth,
      });
      expect(unknown.json()).toMatchObject({ field: 'sort' });
    });
  });
});
