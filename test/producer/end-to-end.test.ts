/**
 * Bulk actions end to end: producer -> fan-out -> worker runtime -> mock Compatibility
 * API, checked on the mock's participant state and request log.
 */
import { describe, expect, it } from 'vitest';
import type { BulkActionRequest } from '../../src/types.js';
import { DELIVERY_HEADER, verifyWebhookSignature } from '../../src/webhooks/signature.js';
import { startHttpsReceiver, type Received } from '../helpers/https-receiver.js';
import { WEBHOOK_SECRET, withScene, type Scene } from './support.js';
import { participantJobId } from '../../src/jobs/participant-job.js';
import { ProducerKeys } from '../../src/keys.js';

const url = (name: string): string => `https://media.example.com/${name}.mp3`;

/** Runs `fn` with a started mock scene whose API has no rate limit (the workers' own applies). */
function withWorkers(fn: (scene: Required<Scene>) => Promise<void>): Promise<void> {
  return withScene(
    async (scene) => {
      scene.mock?.setRateLimit(null);
      await scene.startWorkers();
      await fn(scene as Required<Scene>);
    },
    { withMock: true },
  );
}

describe('bulk actions end to end', () => {
  it('mutes 2,500 participants except the hosts, then unmutes them back to back with about one request each', async () => {
    await withWorkers(async ({ mock, account, confbulk }) => {
      const conference = mock.createConference(account.accountSid, { participants: 2500 });
      const hosts = conference.callSids.slice(0, 2);
      const since = Date.now();
      const mute = await confbulk.bulkAction({
        action: 'mute',
        target: { conferenceSid: conference.sid, except: hosts },
      });
      const unmute = await confbulk.bulkAction({
        action: 'unmute',
        target: { conferenceSid: conference.sid, except: hosts },
      });
      const [muted, unmuted] = await Promise.all([
        mute.completed({ timeoutMs: 45_000 }),
        unmute.completed({ timeoutMs: 45_000 }),
      ]);
      const participants = mock.participants(conference.sid);
      expect(participants.filter((p) => p.muted)).toEqual([]);
      expect(muted.counts).toMatchObject({ total: 2498, pending: 0, deadLettered: 0 });
      expect(muted.counts.superseded + muted.counts.succeeded).toBe(2498);
      expect(unmuted.counts).toMatchObject({ total: 2498, succeeded: 2498, pending: 0 });
      const posts = mock.requestLog(since).filter((r) => r.method === 'POST');
      expect(posts.length).toBeLessThanOrEqual(2498 * 1.1);
      expect(posts.some((r) => hosts.includes(r.callSid as string))).toBe(false);
      // Whatever was sent, the last request for each participant was the unmute.
      const last = new Map(posts.map((r) => [r.callSid, r.params?.Muted]));
      expect([...last.values()].every((m) => m === 'false')).toBe(true);
    });
  });

  it('leaves everyone unmuted when unmute-all arrives while mute-all is half sent', async () => {
    await withWorkers(async ({ mock, account, confbulk }) => {
      const conference = mock.createConference(account.accountSid, { participants: 1000 });
      const since = Date.now();
      const mute = await confbulk.bulkAction({
        action: 'mute',
        target: { conferenceSid: conference.sid },
      });
      while (((await confbulk.getBatch(mute.id))?.counts.succeeded ?? 0) < 100) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const unmute = await confbulk.bulkAction({
        action: 'unmute',
        target: { conferenceSid: conference.sid },
      });
      const [muted, unmuted] = await Promise.all([
        mute.completed({ timeoutMs: 30_000 }),
        unmute.completed({ timeoutMs: 30_000 }),
      ]);
      expect(mock.participants(conference.sid).filter((p) => p.muted)).toEqual([]);
      expect(muted.counts.succeeded).toBeGreaterThanOrEqual(100);
      expect(muted.counts.succeeded + muted.counts.superseded).toBe(1000);
      expect(unmuted.counts.succeeded).toBe(1000);
      const posts = mock.requestLog(since).filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(1000 + muted.counts.succeeded);
    });
  });

  it('applies every action to a conference of 2,500 participants, leaving the except list alone', async () => {
    await withWorkers(async ({ mock, account, confbulk }) => {
      // The coached call must be in the conference (16002 otherwise): the first one left alone.
      let coached = '';
      const cases: [
        BulkActionRequest['action'],
        BulkActionRequest['params'],
        (p: ReturnType<typeof mock.participants>[number]) => boolean,
      ][] = [
        ['mute', undefined, (p) => p.muted],
        ['unmute', undefined, (p) => !p.muted],
        [
          'hold',
          { HoldUrl: url('hold'), HoldMethod: 'GET' },
          (p) => p.hold && p.holdUrl === url('hold') && p.holdMethod === 'GET',
        ],
        ['unhold', undefined, (p) => !p.hold],
        ['hold-music', { HoldUrl: url('music') }, (p) => p.holdUrl === url('music')],
        [
          'wait-music',
          { WaitUrl: url('wait'), WaitMethod: 'GET' },
          (p) => p.waitUrl === url('wait') && p.waitMethod === 'GET',
        ],
        ['announce', { AnnounceUrl: url('hello') }, (p) => p.announcements === 1],
        ['coach', { CallSidToCoach: 'coached' }, (p) => p.coaching && p.callSidToCoach === coached],
        ['update', { Muted: true, Hold: true }, (p) => p.muted && p.hold],
        ['remove', undefined, (p) => p.gone === 'removed'],
      ];
      for (const [action, params, applied] of cases) {
        // hold-music only reaches participants on hold: start everyone on hold for it.
        const conference = mock.createConference(account.accountSid, {
          participants: 2500,
          hold: action === 'hold-music' ? 2500 : 0,
        });
        const except = conference.callSids.slice(0, 2);
        coached = except[0] as string;
        const handle = await confbulk.bulkAction({
          action,
          target: { conferenceSid: conference.sid, except },
          ...(params && {
            params: params.CallSidToCoach ? { ...params, CallSidToCoach: coached } : params,
          }),
        });
        const batch = await handle.completed({ timeoutMs: 60_000 });
        expect(batch.counts, action).toMatchObject({ total: 2498, succeeded: 2498, pending: 0 });
        const all = mock.participants(conference.sid, { includeGone: true });
        expect(
          all.filter((p) => !except.includes(p.callSid) && !applied(p)),
          action,
        ).toEqual([]);
        expect(
          all.filter((p) => except.includes(p.callSid) && p.updates > 0),
          action,
        ).toEqual([]);
      }
    });
  }, 180_000);

  it('targets a conference by friendly name and an explicit list of calls', async () => {
    await withWorkers(async ({ mock, account, confbulk }) => {
      const conference = mock.createConference(account.accountSid, {
        participants: 40,
        friendlyName: 'all-hands',
      });
      const byName = await confbulk.bulkAction({
        action: 'mute',
        target: { conferenceName: 'all-hands' },
      });
      expect((await byName.completed({ timeoutMs: 30_000 })).counts).toMatchObject({
        total: 40,
        succeeded: 40,
      });
      const chosen = conference.callSids.slice(10, 15);
      const listed = await confbulk.bulkAction({
        action: 'unmute',
        target: { conferenceSid: conference.sid, callSids: chosen },
      });
      expect((await listed.completed({ timeoutMs: 30_000 })).counts).toMatchObject({
        total: 5,
        succeeded: 5,
      });
      expect(
        mock
          .participants(conference.sid)
          .filter((p) => !p.muted)
          .map((p) => p.callSid),
      ).toEqual(chosen);
    });
  });

  it('counts exactly when participants leave mid-run and some requests are invalid', async () => {
    await withWorkers(async ({ mock, account, confbulk, redis, prefix }) => {
      const conference = mock.createConference(account.accountSid, { participants: 1000 });
      const leaving = mock.leave({ conferenceSid: conference.sid, count: 100, overMs: 400 });
      const rejected = conference.callSids
        .filter((sid) => !leaving.callSids.includes(sid))
        .slice(0, 5);
      mock.setFaults({
        rejectCalls: Object.fromEntries(rejected.map((sid) => [sid, { status: 422, code: 21220 }])),
      });
      const handle = await confbulk.bulkAction({
        action: 'hold',
        target: { conferenceSid: conference.sid },
      });
      const batch = await handle.completed({ timeoutMs: 45_000 });
      await leaving.done;
      // Leavers gone before the listing reached them were never enqueued (no outcome in the
      // batch); the others were updated before they left, or answered 422 (10000) and a
      // follow-up GET showed them completed.
      const outcomes = new ProducerKeys(prefix).outcomes(batch.id);
      const enqueued = await Promise.all(
        leaving.callSids.map(
          async (sid) => (await redis.hexists(outcomes, participantJobId(batch.id, sid))) === 1,
        ),
      );
      const expectedGone = leaving.callSids.filter(
        (sid, i) => enqueued[i] && mock.participant(sid)?.updates === 0,
      ).length;
      expect(batch.counts.deadLettered).toBe(5);
      expect(batch.counts.gone).toBe(expectedGone);
      expect(batch.counts.total).toBe(1000 - enqueued.filter((e) => !e).length);
      expect(batch.counts.succeeded + batch.counts.gone + batch.counts.deadLettered).toBe(
        batch.counts.total,
      );
      expect(batch.counts.succeeded).toBe(
        mock.participants(conference.sid, { includeGone: true }).filter((p) => p.hold).length,
      );
      expect(batch.counts.pending).toBe(0);
      expect(batch.state).toBe('completed');
    });
  });

  it('POSTs a signed completion webhook over https, retried until the receiver answers', async () => {
    const receiver = await startHttpsReceiver((i) => ({ status: i === 0 ? 503 : 204 }));
    try {
      const webhookUrl = `https://localhost:${receiver.port}/hooks/confbulk?token=abc`;
      await withScene(
        async ({ mock, account, confbulk, startWorkers }) => {
          mock?.setRateLimit(null);
          await startWorkers({ webhooks: { ca: [receiver.ca] } });
          const conference = mock!.createConference(account!.accountSid, { participants: 10 });
          const handle = await confbulk.bulkAction({
            action: 'mute',
            target: { conferenceSid: conference.sid },
            webhookUrl,
          });
          const batch = await handle.completed({ timeoutMs: 30_000 });
          const deadline = Date.now() + 15_000;
          while (receiver.received.length < 2 && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 50));
          expect(receiver.received).toHaveLength(2);
          const [first, second] = receiver.received as [Received, Received];
          expect(verifyWebhookSignature(WEBHOOK_SECRET, second.body, second.headers)).toBe(true);
          expect(verifyWebhookSignature('another-secret', second.body, second.headers)).toBe(false);
          // A retry is the same delivery: receivers deduplicate on its id.
          expect(second.headers[DELIVERY_HEADER]).toBe(first.headers[DELIVERY_HEADER]);
          expect(second.headers[DELIVERY_HEADER]).toBe(`webhook.${batch.id}`);
          expect(JSON.parse(second.body)).toEqual(batch);
        },
        { withMock: true },
      );
    } finally {
      await receiver.close();
    }
  });
});
