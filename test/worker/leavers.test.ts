import { describe, expect, it } from 'vitest';
import { participantJobId } from '../../src/jobs/participant-job.js';
import { mockSpaceProfile, startMock, type LeaverAnswers } from '../../src/mock/index.js';
import { createSignalWireClient } from '../../src/signalwire/client.js';
import { LeaverCheck } from '../../src/signalwire/leaver-check.js';
import { withStack } from './support/stack.js';

/** How the mock answers leavers: SignalWire's documented way by default, Twilio's on request. */
const MODES: [string, LeaverAnswers | undefined][] = [
  ['422 (10000), GET completed (default)', undefined],
  ['422 (10000), GET 404', { update: 422, retrieve: 404 }],
  ['404 (20404), as Twilio', { update: 404, retrieve: 404 }],
];

describe('leavers through the worker', () => {
  for (const [mode, leavers] of MODES) {
    it(`counts participants who left as gone, and a 422 for one still present as invalid: ${mode}`, async () => {
      await withStack({ participants: 12, mock: leavers ? { leavers } : {} }, async (s) => {
        const sids = s.conference.callSids;
        const left = s.mock.leave({ conferenceSid: s.conference.sid, count: 4 }).callSids;
        const present = sids.filter((c) => !left.includes(c));
        const rejected = present[0] as string;
        s.mock.setFaults({ rejectCalls: { [rejected]: { status: 422, code: 10000 } } });
        await s.queues.addJobs(s.jobs({ params: { Muted: true } }));
        await s.start();
        await s.waitForOutcomes(12);

        const outcomeOf = (callSid: string) =>
          s.outcomes.find((o) => o.jobId === participantJobId('batch-1', callSid))?.outcome;
        expect(left.map(outcomeOf)).toEqual(left.map(() => 'gone'));
        expect(outcomeOf(rejected)).toBe('dead_lettered');
        expect(present.slice(1).map(outcomeOf)).toEqual(present.slice(1).map(() => 'succeeded'));
        expect(await s.deadLetters.get(participantJobId('batch-1', rejected))).toMatchObject({
          reason: 'invalid',
          status: 422,
          code: 10000,
        });
        expect(await s.deadLetters.count()).toBe(1);

        // A 422 costs one follow-up GET; a 404 says enough on its own.
        const log = s.mock.requestLog();
        const getsFor = (c: string) => log.filter((e) => e.callSid === c && e.method === 'GET');
        const leaverGets = leavers?.update === 404 ? 0 : 1;
        for (const c of left) expect(getsFor(c)).toHaveLength(leaverGets);
        expect(getsFor(rejected).map((e) => e.status)).toEqual([200]);
        expect(log.filter((e) => e.method === 'POST')).toHaveLength(12);
      });
    });
  }

  it('checks a 200 that says completed, as SignalWire’s update example answers, and counts it by the GET', async () => {
    await withStack({ participants: 6, mock: { updateAnswerStatus: 'completed' } }, async (s) => {
      await s.queues.addJobs(s.jobs({ params: { Hold: true } }));
      await s.start();
      await s.waitForOutcomes(6);
      expect(s.outcomes.map((o) => o.outcome)).toEqual(Array(6).fill('succeeded'));
      expect(s.mock.participants(s.conference.sid).every((p) => p.hold)).toBe(true);
      expect(s.mock.counters().byMethod).toEqual({ POST: 6, GET: 6 });
    });
  });
});

describe('LeaverCheck', () => {
  it('paces a mass departure: bounded GETs in flight, spaced starts, every verdict right', async () => {
    const mock = await startMock({ rateLimit: null, faults: { latencyMs: 50 } });
    const account = mock.createAccount();
    const client = createSignalWireClient(mockSpaceProfile(mock, account));
    try {
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 60 });
      const left = new Set(mock.leave({ conferenceSid: sid, count: 40 }).callSids);
      let inFlight = 0;
      let maxInFlight = 0;
      const counted = {
        getParticipant: async (...args: Parameters<typeof client.getParticipant>) => {
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          try {
            return await client.getParticipant(...args);
          } finally {
            inFlight--;
          }
        },
      };
      const check = new LeaverCheck(counted, { maxConcurrent: 3, minTimeMs: 10 });
      const verdicts = await Promise.all(callSids.map((c) => check.verdict(sid, c)));
      expect(verdicts.map((v) => v.verdict)).toEqual(
        callSids.map((c) => (left.has(c) ? 'left' : 'present')),
      );
      expect(check.checks).toBe(60);
      expect(maxInFlight).toBe(3);
      const starts = mock.requestLog().map((e) => e.t);
      // Bottleneck spaces starts by minTime in this process; arrival adds only network jitter.
      expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(59 * 10 - 20);
    } finally {
      await client.close();
      await mock.stop();
    }
  });

  it('answers unknown, without throwing, when the GET itself fails', async () => {
    const mock = await startMock({ rateLimit: null });
    const account = mock.createAccount();
    const client = createSignalWireClient(mockSpaceProfile(mock, account));
    try {
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 1 });
      mock.outage(5000);
      const verdict = await new LeaverCheck(client).verdict(sid, callSids[0] as string);
      expect(verdict).toMatchObject({ verdict: 'unknown', error: { status: 503 } });
    } finally {
      await client.close();
      await mock.stop();
    }
  });
});
