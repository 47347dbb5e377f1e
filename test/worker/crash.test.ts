import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig } from '../../src/config.js';
import type { RedisConnection } from '../../src/queues.js';
import { DeadLetters } from '../../src/dead-letters/dead-letters.js';
import { ParticipantQueues } from '../../src/jobs/enqueue.js';
import type { ParticipantJobData } from '../../src/jobs/participant-job.js';
import { startMock, type MockAccount, type MockServer } from '../../src/mock/index.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import { ProducerKeys } from '../../src/keys.js';
import { sendRecordKey } from '../../src/worker/send-record.js';
import { deleteKeys, testRedis, testRedisEnv, testTarget, uniquePrefix } from '../helpers/redis.js';
import { spawnWorker, type ChildWorker } from './support/child-worker.js';
import { postsPerCall, until } from './support/stack.js';

describe('worker processes', () => {
  let mock: MockServer;
  let account: MockAccount;
  let redis: RedisConnection;
  let prefix: string;
  let queues: ParticipantQueues;
  let deadLetters: DeadLetters;
  const children: ChildWorker[] = [];

  beforeEach(async () => {
    mock = await startMock({ rateLimit: null });
    account = mock.createAccount();
    redis = testRedis({ maxRetriesPerRequest: null });
    prefix = uniquePrefix();
    queues = new ParticipantQueues({ connection: redis, prefix, retry: DEFAULTS.retry });
    deadLetters = new DeadLetters({ connection: redis, prefix });
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill();
    await deadLetters.close();
    await queues.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
    await mock.stop();
  });

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...testRedisEnv(),
      CONFBULK_PREFIX: prefix,
      SIGNALWIRE_SPACE_URL: mock.url,
      SIGNALWIRE_PROJECT_ID: account.accountSid,
      SIGNALWIRE_API_TOKEN: account.token,
      CONFBULK_CONCURRENCY: '20',
      CONFBULK_RATE_LIMIT: '5000/1s',
      CONFBULK_BACKOFF_BASE_MS: '20',
      CONFBULK_BACKOFF_MAX_MS: '200',
      ...extra,
    };
  }

  function start(
    extra: Record<string, string> = {},
    args: string[] = [],
    script?: string,
  ): ChildWorker {
    const child = spawnWorker(env(extra), args, script);
    children.push(child);
    return child;
  }

  function jobsFor(conferenceSid: string, callSids: string[]): ParticipantJobData[] {
    return callSids.map((callSid) => ({
      v: 1,
      space: 'default',
      conferenceSid,
      callSid,
      op: 'update',
      params: { Muted: true },
      batchId: 'crash',
      intent: 1,
    }));
  }

  it('finishes every job after a worker is killed mid-batch, with duplicates bounded by its concurrency', async () => {
    const conference = mock.createConference(account.accountSid, { participants: 600 });
    mock.setFaults({ latencyMs: 15 });
    const fastRecovery = ['--lock-duration-ms', '2000', '--stalled-interval-ms', '1000'];
    const first = start({}, fastRecovery);
    await first.ready();
    await queues.addJobs(jobsFor(conference.sid, conference.callSids));
    await until(() => mock.counters().appliedUpdates >= 100, 20_000, '100 updates');
    await first.kill();
    const appliedAtKill = mock.counters().appliedUpdates;
    expect(appliedAtKill).toBeLessThan(600);

    const second = start({}, fastRecovery);
    await second.ready();
    const queue = queues.queue('default');
    await until(
      async () =>
        (await queue.getJobCountByTypes('completed')) + (await deadLetters.count()) === 600,
      30_000,
      'every job to end',
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- second worker ---\n${second.output().slice(-3000)}`);
    });
    expect(await queue.getJobCountByTypes('failed', 'waiting', 'active', 'delayed')).toBe(0);
    expect(await deadLetters.count()).toBe(0);
    expect(mock.participants(conference.sid).every((p) => p.muted)).toBe(true);
    const perCall = postsPerCall(mock);
    const duplicated = [...perCall.values()].filter((n) => n > 1).length;
    expect(perCall.size).toBe(600);
    expect(duplicated).toBeLessThanOrEqual(20);
  });

  it('never repeats an announcement whose worker died between the 2xx and the outcome write', async () => {
    const conference = mock.createConference(account.accountSid, { participants: 3 });
    mock.setFaults({ latencyMs: 50 });
    // One job at a time: the first one dies after its 2xx, the others have not started.
    const crashing = start(
      { CONFBULK_CONCURRENCY: '1' },
      [],
      'test/worker/support/crash-worker.ts',
    );
    await crashing.ready();
    const config = { ...loadConfig(env()), ...testTarget() };
    const confbulk = await createConfbulk({ config, connection: redis });
    try {
      const handle = await confbulk.bulkAction({
        action: 'announce',
        target: { conferenceSid: conference.sid },
        params: { AnnounceUrl: 'https://example.com/notice.xml' },
      });
      expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(crashing.output()).toContain('crashing between the 2xx and the outcome write');
      const sentBeforeCrash = mock.requestLog().filter((r) => r.method === 'POST');
      expect(sentBeforeCrash).toHaveLength(1);
      const crashedSid = sentBeforeCrash[0]?.callSid ?? '';
      expect(await redis.get(sendRecordKey(prefix, `${handle.id}.${crashedSid}`))).toBe('sent:200');

      // A normal worker takes the stalled job back: it records its outcome, sends nothing.
      const second = start({}, ['--lock-duration-ms', '2000', '--stalled-interval-ms', '1000']);
      await second.ready();
      const batch = await confbulk.waitForBatch(handle.id, { timeoutMs: 30_000 });
      expect(batch.counts).toMatchObject({ total: 3, succeeded: 3, deadLettered: 0, pending: 0 });
      const posts = mock.requestLog().filter((r) => r.method === 'POST');
      expect(posts.filter((r) => r.callSid === crashedSid)).toHaveLength(1);
      expect(posts).toHaveLength(3);
      for (const p of mock.participants(conference.sid)) expect(p.announcements).toBe(1);
      expect(await deadLetters.count()).toBe(0);
    } finally {
      await confbulk.close();
    }
  });

  it('stops on SIGTERM, handing back what it had not sent', async () => {
    const conference = mock.createConference(account.accountSid, { participants: 200 });
    mock.setFaults({ latencyMs: 50 });
    const worker = start({ CONFBULK_RATE_LIMIT: '40/1s' }, ['--metrics-port', '0']);
    await worker.ready();
    await queues.addJobs(jobsFor(conference.sid, conference.callSids));
    const queue = queues.queue('default');
    // Outcomes, not arrivals at the mock: the limiter lets a first burst out at once, and
    // the scrape below must see outcomes counted.
    await until(
      async () => (await queue.getJobCountByTypes('completed')) >= 5,
      10_000,
      '5 completed jobs',
    );
    const metricsUrl = /"metricsUrl":"([^"]+)"/.exec(worker.output())?.[1];
    const scrape = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(scrape).toMatch(
      /confbulk_participant_jobs_total\{space="default",outcome="succeeded"\} [1-9]/,
    );
    expect(scrape).toMatch(/confbulk_queue_jobs\{queue="updates.default",state="waiting"\} [1-9]/);
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.output()).toContain('worker stopped');
    const completed = await queue.getJobCountByTypes('completed');
    expect(completed).toBe(mock.counters().appliedUpdates);
    const handedBack = await queue.getJobs(['waiting', 'delayed']);
    expect(handedBack.length).toBe(200 - completed);
    expect(handedBack.every((j) => j.attemptsMade === 0)).toBe(true);
    expect(await queue.getJobCountByTypes('active', 'failed')).toBe(0);
  });

  it('runs a stalled chunk again after kill -9 without re-sending its finished participants', async () => {
    const conference = mock.createConference(account.accountSid, { participants: 20 });
    // One chunk of 10 at a time; the limiter lets 5 of its 10 out, the rest wait 4 s, so the
    // kill lands mid-chunk even on a loaded machine (at 2 s the first chunk could finish
    // before the kill, and only the waiting second chunk, none of it ended, stalled).
    const chunked = {
      CONFBULK_UPDATES_PER_JOB: '10',
      CONFBULK_CONCURRENCY: '10',
      CONFBULK_RATE_LIMIT: '5/4s',
    };
    const fastRecovery = ['--lock-duration-ms', '2000', '--stalled-interval-ms', '1000'];
    const first = start(chunked, fastRecovery);
    await first.ready();
    const config = { ...loadConfig(env(chunked)), ...testTarget() };
    const confbulk = await createConfbulk({ config, connection: redis });
    try {
      const handle = await confbulk.bulkAction({
        action: 'mute',
        target: { conferenceSid: conference.sid },
      });
      await until(
        async () => ((await confbulk.getBatch(handle.id))?.counts.succeeded ?? 0) >= 5,
        30_000,
        'the first members of the first chunk to succeed',
      );
      await first.kill();
      // Participants whose outcome was recorded before the kill: never sent again.
      const finished = await redis.hkeys(new ProducerKeys(prefix).outcomes(handle.id));
      expect(finished.length, 'outcomes before the kill').toBeGreaterThanOrEqual(5);
      expect(finished.length, 'outcomes before the kill').toBeLessThan(20);

      const second = start(chunked, fastRecovery);
      await second.ready();
      const batch = await confbulk.waitForBatch(handle.id, { timeoutMs: 45_000 });
      expect(batch.counts).toMatchObject({ total: 20, succeeded: 20, pending: 0 });
      expect(second.output(), 'the second worker took the chunk back').toContain(
        'stalled job taken back',
      );
      const posts = postsPerCall(mock);
      for (const jobId of finished) {
        expect(posts.get(jobId.slice(handle.id.length + 1)), `POSTs of ${jobId}`).toBe(1);
      }
      expect(posts.size).toBe(20);
      expect(mock.participants(conference.sid).every((p) => p.muted)).toBe(true);
    } finally {
      await confbulk.close();
    }
  });

  it('exits with a message naming REDIS_URL when it is not set', async () => {
    const worker = start({ REDIS_URL: '', REDIS_CLUSTER_NODES: '' });
    expect((await worker.exited).code).toBe(2);
    expect(worker.output()).toMatch(/REDIS_URL is not set/);
  });
});
