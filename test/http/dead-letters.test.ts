import { describe, expect, it } from 'vitest';
import type { DeadLetters } from '../../src/dead-letters/dead-letters.js';
import type { DeadLetterEntry } from '../../src/dead-letters/types.js';
import { auth, CALL_SID, CONFERENCE_SID, withApi } from './fixture.js';

const OTHER_CALL = '4f1b6e6a-3333-4000-8000-000000000003';
/** Has the form of a dead-letter id, but names none. */
const UNKNOWN_ID = 'b-test.4f1b6e6a-9999-4000-8000-000000000009';

/** Stores a dead letter as a worker would after a 400 on a bad HoldUrl. */
function addDeadLetter(
  deadLetters: DeadLetters,
  callSid: string,
  batchId = 'b-test',
): Promise<string> {
  return deadLetters.add({
    jobId: `${batchId}.${callSid}`,
    job: {
      v: 1,
      space: 'default',
      conferenceSid: CONFERENCE_SID,
      callSid,
      op: 'update',
      params: { Hold: true, HoldUrl: 'https://music.example.com/missing.mp3' },
      batchId,
      intent: 1,
    },
    reason: 'invalid',
    status: 400,
    code: 21220,
    apiMessage: 'HoldUrl could not be fetched',
    attempts: [
      {
        at: new Date().toISOString(),
        kind: 'invalid',
        status: 400,
        message: 'HoldUrl could not be fetched',
      },
    ],
  });
}

describe('/v1/dead-letters', () => {
  it('lists, shows, replays with changed parameters and purges dead letters', async () => {
    await withApi(async ({ app, deadLetters }) => {
      const first = await addDeadLetter(deadLetters, CALL_SID);
      const second = await addDeadLetter(deadLetters, OTHER_CALL, 'b-other');

      const list = await app.inject({
        method: 'GET',
        url: '/v1/dead-letters?batchId=b-test',
        headers: auth,
      });
      expect(list.statusCode).toBe(200);
      const listed = list.json<{ total: number; deadLetters: DeadLetterEntry[] }>();
      // `total` counts what the filter matches, not every dead letter.
      expect(listed.total).toBe(1);
      expect(listed.deadLetters.map((e) => e.id)).toEqual([first]);
      const all = await app.inject({ method: 'GET', url: '/v1/dead-letters', headers: auth });
      expect(all.json<{ total: number }>().total).toBe(2);

      const one = await app.inject({
        method: 'GET',
        url: `/v1/dead-letters/${first}`,
        headers: auth,
      });
      expect(one.json<DeadLetterEntry>()).toMatchObject({
        id: first,
        reason: 'invalid',
        status: 400,
        job: { callSid: CALL_SID },
      });
      const missing = await app.inject({
        method: 'GET',
        url: `/v1/dead-letters/${UNKNOWN_ID}`,
        headers: auth,
      });
      expect(missing.statusCode).toBe(404);
      // BullMQ's own keys (meta, id, events) are no dead letters: refused before Redis is asked.
      for (const internal of ['meta', 'id', 'events', 'b-test']) {
        const refused = await app.inject({
          method: 'GET',
          url: `/v1/dead-letters/${internal}`,
          headers: auth,
        });
        expect({ status: refused.statusCode, body: refused.json() }).toMatchObject({
          status: 400,
          body: { field: 'id', message: expect.stringContaining('dead-letter id') },
        });
      }

      const badSet = await app.inject({
        method: 'POST',
        url: '/v1/dead-letters/replay',
        headers: auth,
        payload: { ids: [first], set: { HoldUrl: 'ftp://x' } },
      });
      expect(badSet.statusCode).toBe(400);
      expect(badSet.json()).toMatchObject({
        field: 'set.HoldUrl',
        message: 'set.HoldUrl: must be an http:// or https:// URL',
      });
      const unknownId = await app.inject({
        method: 'POST',
        url: '/v1/dead-letters/replay',
        headers: auth,
        payload: { ids: [first, UNKNOWN_ID] },
      });
      expect(unknownId.statusCode).toBe(400);
      expect(unknownId.json()).toMatchObject({
        field: 'ids',
        message: expect.stringContaining(UNKNOWN_ID),
      });
      expect(await deadLetters.count()).toBe(2);

      const replay = await app.inject({
        method: 'POST',
        url: '/v1/dead-letters/replay',
        headers: auth,
        payload: { ids: [first], set: { HoldUrl: 'https://music.example.com/fixed.mp3' } },
      });
      expect(replay.statusCode).toBe(200);
      expect(replay.json()).toMatchObject({ replayed: 1, jobIds: [expect.any(String)] });
      expect(await deadLetters.get(first)).toBeUndefined();

      const purge = await app.inject({
        method: 'DELETE',
        url: '/v1/dead-letters',
        headers: auth,
        payload: { ids: [second] },
      });
      expect(purge.json()).toEqual({ purged: 1 });
      expect(await deadLetters.count()).toBe(0);
    });
  });

  it('answers 400 naming the field for bad replay and purge bodies, touching nothing', async () => {
    await withApi(async ({ app, deadLetters }) => {
      const id = await addDeadLetter(deadLetters, CALL_SID);
      const cases: { method: 'POST' | 'DELETE'; url: string; payload: unknown; field: string }[] = [
        { method: 'POST', url: '/v1/dead-letters/replay', payload: {}, field: 'ids' },
        {
          method: 'POST',
          url: '/v1/dead-letters/replay',
          payload: { ids: [id], all: true },
          field: 'all',
        },
        { method: 'POST', url: '/v1/dead-letters/replay', payload: { ids: [] }, field: 'ids' },
        {
          method: 'POST',
          url: '/v1/dead-letters/replay',
          payload: { ids: [id], set: { Volume: 1 } },
          field: 'set.Volume',
        },
        {
          method: 'POST',
          url: '/v1/dead-letters/replay',
          payload: { ids: [id, 'meta'] },
          field: 'ids[1]',
        },
        { method: 'DELETE', url: '/v1/dead-letters', payload: { ids: ['meta'] }, field: 'ids[0]' },
        { method: 'DELETE', url: '/v1/dead-letters', payload: { all: false }, field: 'all' },
        { method: 'DELETE', url: '/v1/dead-letters', payload: { ids: 'all' }, field: 'ids' },
        {
          method: 'DELETE',
          url: '/v1/dead-letters',
          payload: { everything: true },
          field: 'everything',
        },
      ];
      for (const { method, url, payload, field } of cases) {
        const res = await app.inject({ method, url, headers: auth, payload: payload as object });
        expect({
          payload,
          status: res.statusCode,
          field: res.json<{ field?: string }>().field,
        }).toEqual({ payload, status: 400, field });
      }
      expect(await deadLetters.count()).toBe(1);
    });
  });
});
