/**
 * Latest intent wins: a job whose fields a newer batch took over is superseded (or sends
 * only what is left), `except` lists are honoured, announcements and removals are never
 * superseded, and a newer request never overtakes an older one in flight.
 */
import type { RedisConnection } from '../../src/queues.js';
import { describe, expect, it } from 'vitest';
import type { ParticipantJobData } from '../../src/jobs/participant-job.js';
import { participantJobId } from '../../src/jobs/participant-job.js';
import { BatchStore } from '../../src/batches/store.js';
import { intentFieldsOf, IntentStore } from '../../src/intents/intents.js';
import { ProducerKeys } from '../../src/keys.js';
import { validateBulkActionRequest } from '../../src/bulk-actions/request-schema.js';
import type { Batch, BulkActionRequest } from '../../src/types.js';
import { SID, testConfig, withScene } from '../producer/support.js';

const CONF = SID(1);
const [P1, P2, P3] = [SID(11), SID(12), SID(13)];
const url = 'https://music.example.com/a.mp3';

function setup(redis: RedisConnection, prefix: string) {
  const keys = new ProducerKeys(prefix);
  const batches = new BatchStore({ redis, keys });
  const intents = new IntentStore({ redis, keys, claimTtlMs: 5000, pollMs: 5 });
  const config = testConfig(prefix);
  /** Creates a batch and, like its fan-out, adds `listed` with their intents. */
  const batch = async (req: BulkActionRequest, listed: string[] = []): Promise<Batch> => {
    const { batch: b } = await batches.create(validateBulkActionRequest(config, req));
    if (listed.length) await batches.addMembers(b, CONF, intentFieldsOf(b.params), listed);
    return b;
  };
  const job = (b: Batch, callSid: string): [ParticipantJobData, string] => [
    {
      v: 1,
      space: 'default',
      conferenceSid: CONF,
      callSid,
      op: b.op,
      params: b.params,
      batchId: b.id,
      intent: b.intent,
    },
    participantJobId(b.id, callSid),
  ];
  return { batches, intents, batch, job };
}

describe('latest intent wins', () => {
  it('supersedes older jobs by a newer whole-conference batch as soon as it is created, except its except list', async () => {
    await withScene(async ({ redis, prefix }) => {
      const { intents, batch, job } = setup(redis, prefix);
      const mute = await batch({ action: 'mute', target: { conferenceSid: CONF } }, [P1, P2, P3]);
      // Unmute everyone but P2, not fanned out yet.
      await batch({ action: 'unmute', target: { conferenceSid: CONF, except: [P2] } });
      expect(await intents.beforeSend(...job(mute, P1))).toEqual({ superseded: true });
      expect(await intents.beforeSend(...job(mute, P3))).toEqual({ superseded: true });
      expect(await intents.beforeSend(...job(mute, P2))).toEqual({
        superseded: false,
        params: { Muted: true },
      });
    });
  });

  it('supersedes per participant from the newer fan-out, and only for the participants it listed', async () => {
    await withScene(async ({ redis, prefix }) => {
      const { intents, batch, job } = setup(redis, prefix);
      const mute = await batch(
        { action: 'mute', target: { conferenceSid: CONF, filter: { muted: false } } },
        [P1, P2, P3],
      );
      // A filtered batch has no conference-wide intent: only what its fan-out listed counts.
      await batch({ action: 'unmute', target: { conferenceSid: CONF, filter: { muted: true } } }, [
        P1,
      ]);
      await batch({ action: 'unmute', target: { conferenceSid: CONF, callSids: [P3] } }, [P3]);
      expect(await intents.beforeSend(...job(mute, P1))).toEqual({ superseded: true });
      expect(await intents.beforeSend(...job(mute, P2))).toEqual({
        superseded: false,
        params: { Muted: true },
      });
      expect(await intents.beforeSend(...job(mute, P3))).toEqual({ superseded: true });
    });
  });

  it('drops only the fields taken over, and never supersedes an announcement or a removal', async () => {
    await withScene(async ({ redis, prefix }) => {
      const { intents, batch, job } = setup(redis, prefix);
      const hold = await batch(
        {
          action: 'hold',
          target: { conferenceSid: CONF },
          params: { HoldUrl: url, HoldMethod: 'GET' },
        },
        [P1],
      );
      const announce = await batch(
        { action: 'announce', target: { conferenceSid: CONF }, params: { AnnounceUrl: url } },
        [P1],
      );
      const remove = await batch({ action: 'remove', target: { conferenceSid: CONF } }, [P1]);
      await batch({ action: 'unhold', target: { conferenceSid: CONF } }, [P1]);
      await batch(
        {
          action: 'announce',
          target: { conferenceSid: CONF },
          params: { AnnounceUrl: `${url}?2` },
        },
        [P1],
      );
      expect(await intents.beforeSend(...job(hold, P1))).toEqual({
        superseded: false,
        params: { HoldUrl: url, HoldMethod: 'GET' },
      });
      await intents.afterSend(...job(hold, P1));
      expect(await intents.beforeSend(...job(announce, P1))).toEqual({
        superseded: false,
        params: { AnnounceUrl: url },
      });
      await intents.afterSend(...job(announce, P1));
      expect(await intents.beforeSend(...job(remove, P1))).toEqual({
        superseded: false,
        params: {},
      });
    });
  });

  it('keeps an older intent from winning when it arrives late', async () => {
    await withScene(async ({ redis, prefix }) => {
      const { intents, batch, job } = setup(redis, prefix);
      const older = await batch({
        action: 'mute',
        target: { conferenceSid: CONF, callSids: [P1] },
      });
      const newer = await batch(
        { action: 'unmute', target: { conferenceSid: CONF, callSids: [P1] } },
        [P1],
      );
      // The older fan-out runs last: max wins, so its intent does not replace the newer one.
      const { batches } = setup(redis, prefix);
      await batches.addMembers(older, CONF, ['Muted'], [P1]);
      expect(await intents.beforeSend(...job(newer, P1))).toEqual({
        superseded: false,
        params: { Muted: false },
      });
      expect(await intents.beforeSend(...job(older, P1))).toEqual({ superseded: true });
    });
  });

  it('makes a newer request wait for an older one in flight for the same participant', async () => {
    await withScene(async ({ redis, prefix }) => {
      const { intents, batch, job } = setup(redis, prefix);
      const older = await batch(
        { action: 'announce', target: { conferenceSid: CONF }, params: { AnnounceUrl: url } },
        [P1, P2],
      );
      const newer = await batch({ action: 'mute', target: { conferenceSid: CONF } }, [P1, P2]);
      expect(await intents.beforeSend(...job(older, P1))).toEqual({
        superseded: false,
        params: { AnnounceUrl: url },
      });
      let sentAt = 0;
      const waiting = intents.beforeSend(...job(newer, P1)).then((d) => ((sentAt = Date.now()), d));
      // Another participant is not held up.
      expect(await intents.beforeSend(...job(newer, P2))).toEqual({
        superseded: false,
        params: { Muted: true },
      });
      await new Promise((r) => setTimeout(r, 150));
      expect(sentAt).toBe(0);
      const releasedAt = Date.now();
      await intents.afterSend(...job(older, P1));
      expect(await waiting).toEqual({ superseded: false, params: { Muted: true } });
      expect(sentAt).toBeGreaterThanOrEqual(releasedAt);
      // An older job never waits for a newer claim (it could only be superseded by it).
      await intents.afterSend(...job(newer, P1));
    });
  });

  it('handles claims made in the same turn one after the other, across conferences', async () => {
    await withScene(async ({ redis, prefix }) => {
      const { intents, batch, job } = setup(redis, prefix);
      const older = await batch({ action: 'hold', target: { conferenceSid: CONF } }, [P1, P2]);
      const newer = await batch({ action: 'mute', target: { conferenceSid: CONF } }, [P1]);
      const [otherJob, otherId] = job(newer, P3);
      const elsewhere = { ...otherJob, conferenceSid: SID(2) };
      let newerSent = false;
      // One script call: the older claims P1 first, so the newer one waits for it.
      const decisions = [
        intents.beforeSend(...job(older, P1)),
        intents.beforeSend(...job(newer, P1)).then((d) => ((newerSent = true), d)),
        intents.beforeSend(...job(older, P2)),
        intents.beforeSend(elsewhere, otherId),
      ];
      expect(await decisions[0]).toEqual({ superseded: false, params: { Hold: true } });
      expect(await decisions[2]).toEqual({ superseded: false, params: { Hold: true } });
      expect(await decisions[3]).toEqual({ superseded: false, params: { Muted: true } });
      await new Promise((r) => setTimeout(r, 50));
      expect(newerSent).toBe(false);
      await intents.afterSend(...job(older, P1));
      expect(await decisions[1]).toEqual({ superseded: false, params: { Muted: true } });
    });
  });

  it('ignores a claim whose holder died once it expires', async () => {
    await withScene(async ({ redis, prefix }) => {
      const keys = new ProducerKeys(prefix);
      const { batch, job } = setup(redis, prefix);
      const shortClaims = new IntentStore({ redis, keys, claimTtlMs: 200, pollMs: 5 });
      const older = await batch({ action: 'hold', target: { conferenceSid: CONF } }, [P1]);
      const newer = await batch({ action: 'mute', target: { conferenceSid: CONF } }, [P1]);
      await shortClaims.beforeSend(...job(older, P1)); // never released: its worker "died"
      const started = Date.now();
      expect(await shortClaims.beforeSend(...job(newer, P1))).toEqual({
        superseded: false,
        params: { Muted: true },
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });

  it('withdraws the conference-wide intent of a batch that failed', async () => {
    await withScene(async ({ redis, prefix }) => {
      const { intents, batches, batch, job } = setup(redis, prefix);
      const mute = await batch({ action: 'mute', target: { conferenceSid: CONF } }, [P1]);
      const unmute = await batch({ action: 'unmute', target: { conferenceSid: CONF } });
      expect(await batches.fail(unmute, 'conference not found')).toBe(true);
      expect(await intents.beforeSend(...job(mute, P1))).toEqual({
        superseded: false,
        params: { Muted: true },
      });
    });
  });
});
