/**
 * After a small batch through a real worker stack against the mock, with 429s,
 * random 503s and one participant the API rejects, a worker's `/metrics` exposes every
 * family of src/metrics.ts, with non-zero samples where the run must have produced them.
 */
import { describe, expect, it } from 'vitest';
import { startWorkerStack } from '../../src/worker/stack.js';
import { loadConfig } from '../../src/config.js';
import { createMetrics } from '../../src/metrics.js';
import { startMock } from '../../src/mock/index.js';
import { openOpsQueues } from '../../src/ops/queues.js';
import { startWorkerHttp } from '../../src/ops/worker-http.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import { deleteKeys, testRedis, testRedisEnv, uniquePrefix } from '../helpers/redis.js';

interface Sample {
  name: string;
  labels: string;
  value: number;
}

function samplesOf(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
      if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
      return { name: m[1] as string, labels: m[2] ?? '', value: Number(m[3]) };
    });
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s / 2_147_483_648;
  };
}

describe('/metrics after a batch', () => {
  it('exposes every confbulk family, with the samples the run produced', async () => {
    const prefix = uniquePrefix();
    const mock = await startMock({ rateLimit: null, random: seeded(7) });
    const account = mock.createAccount();
    const conference = mock.createConference(account.accountSid, { participants: 40 });
    const [host, rejected] = conference.callSids;
    const config = loadConfig({
      ...testRedisEnv(),
      CONFBULK_PREFIX: prefix,
      SIGNALWIRE_SPACE_URL: mock.url,
      SIGNALWIRE_PROJECT_ID: account.accountSid,
      SIGNALWIRE_API_TOKEN: account.token,
      CONFBULK_RATE_LIMIT: '200/1s',
      CONFBULK_BACKOFF_BASE_MS: '100',
    });
    const connection = testRedis({ maxRetriesPerRequest: null });
    const metrics = createMetrics();
    const queues = openOpsQueues({ connection, prefix, spaces: ['default'] });
    const workers = await startWorkerStack({ config, connection, metrics });
    const http = await startWorkerHttp({ port: 0, metrics, redis: connection, queues: queues.all });
    const confbulk = await createConfbulk({ config, connection, pollMs: 50 });
    let burst: NodeJS.Timeout | undefined;
    try {
      mock.setFaults({
        errorRate: 0.25,
        errorStatuses: [503],
        rejectCalls: { [rejected as string]: { status: 400, code: 21220 } },
      });
      // A window below confbulk's limit keeps the run going for a second or two, and a
      // 429 burst from the first accepted update on makes 429s certain.
      mock.setRateLimit({ count: 30, durationMs: 1000 }, account.accountSid);
      burst = setInterval(() => {
        if (mock.counters().acceptedPosts === 0) return;
        clearInterval(burst);
        mock.force429(1000);
      }, 5);
      const handle = await confbulk.bulkAction({
        action: 'mute',
        target: { conferenceSid: conference.sid, except: [host as string] },
      });
      const batch = await handle.completed({ timeoutMs: 30_000 });
      expect(batch.counts).toMatchObject({ total: 39, succeeded: 38, deadLettered: 1 });

      const response = await fetch(`${http.url}/metrics`);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const text = await response.text();
      const samples = samplesOf(text);
      const total = (name: string, labels: RegExp = /.*/) =>
        samples
          .filter((s) => s.name === name && labels.test(s.labels))
          .reduce((sum, s) => sum + s.value, 0);

      for (const [family, type] of [
        ['confbulk_api_requests_total', 'counter'],
        ['confbulk_api_request_duration_seconds', 'histogram'],
        ['confbulk_rate_limit_wait_seconds', 'histogram'],
        ['confbulk_api_rate_limited_total', 'counter'],
        ['confbulk_retries_total', 'counter'],
        ['confbulk_circuit_state', 'gauge'],
        ['confbulk_queue_jobs', 'gauge'],
        ['confbulk_participant_jobs_total', 'counter'],
        ['confbulk_batch_duration_seconds', 'histogram'],
      ]) {
        expect(text).toContain(`# TYPE ${family} ${type}\n`);
      }
      expect(
        total('confbulk_api_requests_total', /status_class="2xx"/),
        'confbulk_api_requests_total status_class="2xx"',
      ).toBeGreaterThanOrEqual(38);
      expect(
        total('confbulk_api_requests_total', /status_class="4xx"/),
        'confbulk_api_requests_total status_class="4xx"',
      ).toBeGreaterThan(0);
      expect(
        total('confbulk_api_requests_total', /status_class="5xx"/),
        'confbulk_api_requests_total status_class="5xx"',
      ).toBeGreaterThan(0);
      expect(
        total('confbulk_api_request_duration_seconds_count'),
        'confbulk_api_request_duration_seconds_count',
      ).toBeGreaterThanOrEqual(39);
      expect(
        total('confbulk_rate_limit_wait_seconds_count'),
        'confbulk_rate_limit_wait_seconds_count',
      ).toBeGreaterThanOrEqual(39);
      expect(
        total('confbulk_api_rate_limited_total'),
        'confbulk_api_rate_limited_total',
      ).toBeGreaterThan(0);
      expect(total('confbulk_retries_total'), 'confbulk_retries_total').toBeGreaterThan(0);
      expect(
        samples.some(
          (s) => s.name === 'confbulk_circuit_state' && /space="default"/.test(s.labels),
        ),
      ).toBe(true);
      expect(
        total('confbulk_participant_jobs_total', /outcome="succeeded"/),
        'confbulk_participant_jobs_total outcome="succeeded"',
      ).toBe(38);
      expect(
        total('confbulk_participant_jobs_total', /outcome="dead_lettered"/),
        'confbulk_participant_jobs_total outcome="dead_lettered"',
      ).toBe(1);
      expect(
        total('confbulk_batch_duration_seconds_count', /action="mute",state="completed"/),
      ).toBe(1);
      expect(
        total('confbulk_queue_jobs', /queue="dead-letters",state="waiting"/),
        'confbulk_queue_jobs queue="dead-letters",state="waiting"',
      ).toBe(1);
      expect(
        total('confbulk_queue_jobs', /queue="updates.default",state="completed"/),
      ).toBeGreaterThan(0);
      expect(
        total('confbulk_queue_jobs', /queue="fanout"/),
        'confbulk_queue_jobs queue="fanout"',
      ).toBeGreaterThan(0);
    } finally {
      clearInterval(burst);
      await confbulk.close();
      await http.close();
      await workers.close();
      await queues.close();
      await mock.stop();
      await deleteKeys(connection, prefix);
      connection.disconnect();
    }
  });
});
