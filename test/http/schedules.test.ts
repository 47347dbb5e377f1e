import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../src/types.js';
import { auth, CONFERENCE_SID, withApi } from './fixture.js';

const spec = {
  name: 'weekday-mute',
  cron: '0 9 * * 1-5',
  tz: 'Europe/Paris',
  request: { action: 'mute', target: { conferenceSid: CONFERENCE_SID } },
};

describe('/v1/schedules', () => {
  it('creates, lists and removes a schedule', async () => {
    await withApi(async ({ app }) => {
      const created = await app.inject({
        method: 'POST',
        url: '/v1/schedules',
        headers: auth,
        payload: spec,
      });
      expect(created.statusCode).toBe(201);
      expect(created.headers.location).toBe('/v1/schedules/weekday-mute');
      expect(created.json<Schedule>()).toMatchObject({ ...spec, nextRunAt: expect.any(String) });

      const list = await app.inject({ method: 'GET', url: '/v1/schedules', headers: auth });
      expect(list.json<{ schedules: Schedule[] }>().schedules.map((s) => s.name)).toEqual([
        'weekday-mute',
      ]);

      const removed = await app.inject({
        method: 'DELETE',
        url: '/v1/schedules/weekday-mute',
        headers: auth,
      });
      expect(removed.statusCode).toBe(204);
      const again = await app.inject({
        method: 'DELETE',
        url: '/v1/schedules/weekday-mute',
        headers: auth,
      });
      expect(again.statusCode).toBe(404);
      expect(again.json()).toEqual({
        error: 'NotFound',
        message: "schedule 'weekday-mute' not found",
      });
    });
  });

  it('answers 400 naming the field for bad schedules, creating none', async () => {
    await withApi(async ({ app, workKeys }) => {
      const cases: [unknown, string][] = [
        [{ ...spec, name: 'has space' }, 'name'],
        [{ ...spec, cron: undefined }, 'at'],
        [{ ...spec, cron: 'every morning' }, 'cron'],
        [{ ...spec, tz: 'Mars/Olympus' }, 'tz'],
        [{ ...spec, cron: undefined, tz: undefined, at: '2000-01-01T00:00:00Z' }, 'at'],
        [{ ...spec, request: { ...spec.request, action: 'explode' } }, 'request.action'],
        [
          {
            ...spec,
            request: {
              action: 'hold',
              target: { conferenceSid: CONFERENCE_SID },
              params: { HoldUrl: 'x' },
            },
          },
          'request.params.HoldUrl',
        ],
        [{ ...spec, repeat: 3 }, 'repeat'],
      ];
      for (const [payload, field] of cases) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/schedules',
          headers: auth,
          payload: payload as object,
        });
        const body = res.json<{ field?: string; message: string }>();
        expect({ field, status: res.statusCode, got: body.field }).toEqual({
          field,
          status: 400,
          got: field,
        });
        expect(body.message.startsWith(field), body.message).toBe(true);
      }
      const list = await app.inject({ method: 'GET', url: '/v1/schedules', headers: auth });
      expect(list.json()).toEqual({ schedules: [] });
      expect(await workKeys()).toEqual([]);
    });
  });
});
