import { describe, expect, it } from 'vitest';
import { participantJobId } from '../../src/jobs/participant-job.js';
import { counterValue, strangerCallSid, until, withStack } from './support/stack.js';

describe('participant pipeline outcomes', () => {
  it('succeeds on 2xx: one request per job, the update applied, hooks told once', async () => {
    await withStack({ participants: 20 }, async (s) => {
      await s.queues.addJobs(s.jobs({ params: { Muted: true } }));
      await s.start();
      await s.waitForOutcomes(20);
      expect(
        s.outcomes.every(
          (o) => o.outcome === 'succeeded' && o.detail.status === 200 && o.detail.requests === 1,
        ),
      ).toBe(true);
      expect(s.mock.participants(s.conference.sid).every((p) => p.muted)).toBe(true);
      expect(s.mock.counters().byMethod.POST).toBe(20);
      await until(() => s.afterSends.length === 20, 5000, 'afterSend calls');
      expect(
        s.afterSends.every((a) => a.detail.outcome === 'succeeded' && a.detail.requests === 1),
      ).toBe(true);
      const first = await s.queues
        .queue('default')
        .getJob(participantJobId('batch-1', s.conference.callSids[0] as string));
      await until(async () => (await first?.isCompleted()) ?? false, 5000, 'completion');
      expect(await counterValue(s.metrics, 'jobOutcomes', { outcome: 'succeeded' })).toBe(20);
      expect(await counterValue(s.metrics, 'requests', { status_class: '2xx' })).toBe(20);
    });
  });

  it('completes a 404 as gone without a retry or a dead letter', async () => {
    await withStack({ participants: 2 }, async (s) => {
      const gone = strangerCallSid();
      await s.queues.addJobs(s.jobs({}, [...s.conference.callSids, gone]));
      await s.start();
      await s.waitForOutcomes(3);
      const outcome = s.outcomes.find((o) => o.jobId === participantJobId('batch-1', gone));
      expect(outcome).toMatchObject({ outcome: 'gone', detail: { status: 404, requests: 1 } });
      expect(s.mock.requestLog().filter((r) => r.callSid === gone)).toHaveLength(1);
      expect(await s.deadLetters.count()).toBe(0);
      expect(await counterValue(s.metrics, 'retries')).toBe(0);
    });
  });

  it('dead-letters a 422 at once with status, code, message and the attempt', async () => {
    await withStack({ participants: 3 }, async (s) => {
      const rejected = s.conference.callSids[1] as string;
      s.mock.setFaults({
        rejectCalls: {
          [rejected]: { status: 422, code: 21220, message: 'Call is not in a valid state' },
        },
      });
      await s.queues.addJobs(s.jobs({ params: { Hold: true } }));
      await s.start();
      await s.waitForOutcomes(3);
      const jobId = participantJobId('batch-1', rejected);
      expect(s.outcomes.find((o) => o.jobId === jobId)).toMatchObject({
        outcome: 'dead_lettered',
        detail: { reason: 'invalid', status: 422 },
      });
      const entry = await s.deadLetters.get(jobId);
      expect(entry).toMatchObject({
        reason: 'invalid',
        status: 422,
        code: 21220,
        apiMessage: 'Call is not in a valid state',
        job: { callSid: rejected },
      });
      expect(entry?.attempts).toEqual([
        expect.objectContaining({
          kind: 'invalid',
          status: 422,
          message: 'Call is not in a valid state',
        }),
      ]);
      // One POST, and the GET that showed the participant still in progress.
      const requests = s.mock.requestLog().filter((r) => r.callSid === rejected);
      expect(requests.map((r) => [r.method, r.status])).toEqual([
        ['POST', 422],
        ['GET', 200],
      ]);
      const job = await s.queues.queue('default').getJob(jobId);
      await until(async () => (await job?.getState()) === 'completed', 5000, 'completion');
      expect((await s.queues.queue('default').getJob(jobId))?.returnvalue).toEqual({
        outcome: 'dead_lettered',
        status: 422,
        reason: 'invalid',
      });
    });
  });

  it('dead-letters an invalid stored payload without a request, and a replay with a fixed param succeeds', async () => {
    await withStack({ participants: 1 }, async (s) => {
      const [bad] = s.jobs({ params: { Hold: true, HoldUrl: 'ftp://music.example.com/x.mp3' } });
      const jobId = participantJobId(bad?.batchId ?? '', bad?.callSid ?? '');
      // Bypasses enqueue validation, as a foreign producer or a corrupted payload would.
      await s.queues.queue('default').add('update', bad, { jobId });
      await s.start();
      await s.waitForOutcomes(1);
      expect(s.outcomes[0]).toMatchObject({
        outcome: 'dead_lettered',
        detail: { reason: 'invalid', invalidPayload: true, requests: 0 },
      });
      expect(s.mock.counters().requests).toBe(0);
      expect(await s.deadLetters.get(jobId)).toMatchObject({
        reason: 'invalid',
        apiMessage: expect.stringMatching(/HoldUrl/),
      });

      const replay = await s.deadLetters.replay({
        ids: [jobId],
        set: { HoldUrl: 'https://music.example.com/x.mp3' },
      });
      expect(replay).toEqual({ replayed: 1, jobIds: [`${jobId}.r1`] });
      await s.waitForOutcomes(2);
      expect(s.outcomes[1]).toMatchObject({ jobId: `${jobId}.r1`, outcome: 'succeeded' });
      const participant = s.mock.participant(s.conference.callSids[0] as string);
      expect(participant?.hold).toBe(true);
      expect(s.mock.requestLog()[0]?.params).toMatchObject({
        HoldUrl: 'https://music.example.com/x.mp3',
      });
      expect(await s.deadLetters.count()).toBe(0);
    });
  });

  it('retries 5xx quickly and through the queue until the update succeeds', async () => {
    await withStack({ participants: 1, config: { retry: { attempts: 10 } } }, async (s) => {
      await s.start();
      s.mock.outage(300);
      await s.queues.addJobs(s.jobs());
      await s.waitForOutcomes(1, 10_000);
      expect(s.outcomes[0]).toMatchObject({ outcome: 'succeeded' });
      const statuses = s.mock.requestLog().map((r) => r.status);
      expect(statuses.at(-1)).toBe(200);
      expect(statuses.filter((st) => st === 503).length).toBeGreaterThanOrEqual(2);
      expect(await counterValue(s.metrics, 'retries', { layer: 'quick' })).toBeGreaterThanOrEqual(
        1,
      );
      expect(await counterValue(s.metrics, 'retries', { layer: 'queue' })).toBeGreaterThanOrEqual(
        1,
      );
      const job = await s.queues
        .queue('default')
        .getJob(participantJobId('batch-1', s.conference.callSids[0] as string));
      // One attempt completed it; at least one before was handed back to the queue.
      expect(job?.attemptsMade).toBeGreaterThanOrEqual(2);
      expect(await s.deadLetters.count()).toBe(0);
    });
  });

  it('dead-letters a job whose attempts are exhausted, once, with every attempt', async () => {
    await withStack(
      {
        participants: 1,
        config: { retry: { attempts: 2, quickRetries: 1 }, circuit: { failureThreshold: 100 } },
      },
      async (s) => {
        s.mock.setFaults({ errorRate: 1, errorStatuses: [502] });
        await s.queues.addJobs(s.jobs());
        await s.start();
        await s.waitForOutcomes(1, 10_000);
        const jobId = participantJobId('batch-1', s.conference.callSids[0] as string);
        expect(s.outcomes[0]).toMatchObject({
          outcome: 'dead_lettered',
          detail: { reason: 'exhausted', status: 502 },
        });
        const entry = await s.deadLetters.get(jobId);
        expect(entry).toMatchObject({ reason: 'exhausted', status: 502 });
        expect(entry?.attempts.map((a) => a.status)).toEqual([502, 502, 502, 502]);
        expect(s.mock.counters().requests).toBe(4);
        const queue = s.queues.queue('default');
        await until(
          async () => (await queue.getJobCountByTypes('completed')) === 1,
          5000,
          'completion',
        );
        expect(await queue.getJobCountByTypes('failed')).toBe(0);
        expect(await s.deadLetters.count()).toBe(1);
      },
    );
  });
});
