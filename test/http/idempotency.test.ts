/**
 * Idempotency keys: the same key with the same request returns the batch (200), with a
 * different request answers 409 naming idempotencyKey, and the prefix of schedule runs'
 * keys is not a user's to take.
 */
import { describe, expect, it } from 'vitest';
import { auth, CALL_SID, CONFERENCE_SID, withApi } from './fixture.js';

const mute = { action: 'mute', target: { conferenceSid: CONFERENCE_SID } };

describe('idempotency keys over HTTP', () => {
  it('return the batch for the same request, 409 for a different one, and nothing new is created', () =>
    withApi(async ({ app }) => {
      const post = (payload: unknown) =>
        app.inject({
          method: 'POST',
          url: '/v1/bulk-actions',
          headers: auth,
          payload: payload as object,
        });
      const first = await post({ ...mute, idempotencyKey: 'standup-2030-01-31' });
      expect(first.statusCode).toBe(202);
      const id = first.json<{ batch: { id: string } }>().batch.id;

      // Same request, written in another key order and SID spelling: a retry.
      const again = await post({
        target: { conferenceSid: CONFERENCE_SID.toUpperCase() },
        idempotencyKey: 'standup-2030-01-31',
        action: 'mute',
      });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ created: false, batch: { id } });

      for (const other of [
        { ...mute, action: 'unmute' },
        { ...mute, target: { conferenceSid: CONFERENCE_SID, except: [CALL_SID] } },
        { ...mute, webhookUrl: 'https://93.184.216.34/hook' },
      ]) {
        const res = await post({ ...other, idempotencyKey: 'standup-2030-01-31' });
        expect(res.statusCode).toBe(409);
        expect(res.json()).toEqual({
          error: 'Conflict',
          field: 'idempotencyKey',
          message: expect.stringMatching(
            new RegExp(
              `^idempotencyKey: 'standup-2030-01-31' was used for a different request \\(batch ${id}\\)`,
            ),
          ),
        });
      }
      const list = await app.inject({ method: 'GET', url: '/v1/batches', headers: auth });
      expect(list.json<{ batches: unknown[] }>().batches).toHaveLength(1);
    }));

  it('refuses keys in the namespace of schedule runs', () =>
    withApi(async ({ app, workKeys }) => {
      for (const key of ['schedule:repeat:nightly:1893456000000', 'Schedule:x']) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/bulk-actions',
          headers: auth,
          payload: { ...mute, idempotencyKey: key },
        });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({
          field: 'idempotencyKey',
          message: "idempotencyKey: must not start with 'schedule:' (the keys of schedule runs)",
        });
      }
      expect(await workKeys()).toEqual([]);
    }));
});
