import { describe, expect, it } from 'vitest';
import type { Batch } from '../../src/types.js';
import { auth, CALL_SID, CONFERENCE_SID, withApi } from './fixture.js';

const request = {
  action: 'hold',
  target: { conferenceSid: CONFERENCE_SID, except: [CALL_SID] },
  params: { HoldUrl: 'https://music.example.com/hold.mp3' },
};

type Created = { created: boolean; batch: Batch };

describe('POST /v1/bulk-actions', () => {
  it('creates a batch (202) that GET /v1/batches/:id and the list return', async () => {
    await withApi(async ({ app, workKeys }) => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/bulk-actions',
        headers: auth,
        payload: request,
      });
      expect(res.statusCode).toBe(202);
      const { created, batch } = res.json<Created>();
      expect(created).toBe(true);
      expect(batch).toMatchObject({
        action: 'hold',
        space: 'default',
        op: 'update',
        params: { Hold: true, HoldUrl: 'https://music.example.com/hold.mp3' },
        target: { conferenceSid: CONFERENCE_SID, except: [CALL_SID] },
      });
      expect(res.headers.location).toBe(`/v1/batches/${batch.id}`);
      expect((await workKeys()).length).toBeGreaterThan(0);

      const one = await app.inject({
        method: 'GET',
        url: `/v1/batches/${batch.id}`,
        headers: auth,
      });
      expect(one.statusCode).toBe(200);
      expect(one.json<Batch>()).toMatchObject({
        id: batch.id,
        action: 'hold',
        counts: { succeeded: 0 },
      });

      const list = await app.inject({ method: 'GET', url: '/v1/batches?limit=5', headers: auth });
      expect(list.json<{ batches: Batch[] }>().batches.map((b) => b.id)).toEqual([batch.id]);
    });
  });

  it('returns the same batch (200, created: false) for a repeated idempotency key', async () => {
    await withApi(async ({ app }) => {
      const body = { ...request, idempotencyKey: 'nightly-hold:2030-01-01' };
      const first = await app.inject({
        method: 'POST',
        url: '/v1/bulk-actions',
        headers: auth,
        payload: body,
      });
      const again = await app.inject({
        method: 'POST',
        url: '/v1/bulk-actions',
        headers: auth,
        payload: body,
      });
      expect(first.statusCode).toBe(202);
      expect(again.statusCode).toBe(200);
      const a = first.json<Created>();
      const b = again.json<Created>();
      expect(b.created).toBe(false);
      expect(b.batch.id).toBe(a.batch.id);
      expect(b.batch.idempotencyKey).toBe('nightly-hold:2030-01-01');
      const list = await app.inject({ method: 'GET', url: '/v1/batches', headers: auth });
      expect(list.json<{ batches: Batch[] }>().batches).toHaveLength(1);
    });
  });

  it('answers 404 for an unknown batch and an unknown route', async () => {
    await withApi(async ({ app }) => {
      const batch = await app.inject({
        method: 'GET',
        url: '/v1/batches/b-unknown',
        headers: auth,
      });
      expect(batch.statusCode).toBe(404);
      expect(batch.json()).toEqual({ error: 'NotFound', message: "batch 'b-unknown' not found" });
      const route = await app.inject({ method: 'GET', url: '/v2/anything?x=1', headers: auth });
      expect(route.statusCode).toBe(404);
      expect(route.json()).toEqual({ error: 'NotFound', message: 'no route GET /v2/anything' });
    });
  });
});
