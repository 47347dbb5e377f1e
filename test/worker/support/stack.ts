/**
 * A whole worker stack for one test: a mock Compatibility API with one account and one
 * conference, a unique Redis prefix, queues, dead letters and (on `start()`) an in-process
 * worker runtime whose hooks record every call. `withStack` tears everything down.
 */
import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../../../src/queues.js';
import { DEFAULTS, type ConfbulkConfig, type RateLimitSpec } from '../../../src/config.js';
import { DeadLetters } from '../../../src/dead-letters/dead-letters.js';
import { ParticipantQueues } from '../../../src/jobs/enqueue.js';
import type { ParticipantJobData } from '../../../src/jobs/participant-job.js';
import { silentLogger } from '../../../src/logger.js';
import { createMetrics, type Metrics } from '../../../src/metrics.js';
import {
  startMock,
  mockSpaceProfile,
  type MockAccount,
  type MockConference,
  type MockOptions,
  type MockServer,
} from '../../../src/mock/index.js';
import {
  startWorkerRuntime,
  type WorkerRuntime,
  type WorkerRuntimeOptions,
} from '../../../src/worker/runtime.js';
import type {
  AfterSendDetail,
  JobOutcome,
  OutcomeDetail,
  PipelineHooks,
} from '../../../src/worker/types.js';
import { deleteKeys, testRedis, testTarget, uniquePrefix } from '../../helpers/redis.js';

export interface StackSetup {
  participants?: number;
  mock?: MockOptions;
  /** The space's rate limit in the worker. @defaultValue 5000/1s */
  rateLimit?: RateLimitSpec;
  config?: Partial<Omit<ConfbulkConfig, 'retry' | 'circuit'>> & {
    retry?: Partial<ConfbulkConfig['retry']>;
    circuit?: Partial<ConfbulkConfig['circuit']>;
  };
}

export interface OutcomeCall {
  jobId: string;
  outcome: JobOutcome;
  detail: OutcomeDetail;
}

export interface Stack {
  mock: MockServer;
  account: MockAccount;
  conference: MockConference;
  redis: RedisConnection;
  prefix: string;
  config: ConfbulkConfig;
  metrics: Metrics;
  queues: ParticipantQueues;
  deadLetters: DeadLetters;
  outcomes: OutcomeCall[];
  afterSends: { jobId: string; detail: AfterSendDetail }[];
  /** Jobs for `callSids` (default: every participant) with these fields. */
  jobs(overrides?: Partial<ParticipantJobData>, callSids?: string[]): ParticipantJobData[];
  /** Starts a runtime (closed by teardown if not closed before). */
  start(options?: Partial<WorkerRuntimeOptions>): Promise<WorkerRuntime>;
  /** Resolves once `n` outcomes were reported. */
  waitForOutcomes(n: number, timeoutMs?: number): Promise<void>;
}

export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function withStack(
  setup: StackSetup,
  fn: (stack: Stack) => Promise<void>,
): Promise<void> {
  const mock = await startMock({ rateLimit: null, ...setup.mock });
  const redis = testRedis({ maxRetriesPerRequest: null });
  const prefix = uniquePrefix();
  const account = mock.createAccount();
  const conference = mock.createConference(account.accountSid, {
    participants: setup.participants ?? 10,
  });
  const { retry, circuit, ...rest } = setup.config ?? {};
  const config: ConfbulkConfig = {
    ...DEFAULTS,
    ...testTarget(),
    prefix,
    spaces: new Map([
      [
        'default',
        {
          ...mockSpaceProfile(mock, account),
          rateLimits: [setup.rateLimit ?? { count: 5000, durationMs: 1000 }],
        },
      ],
    ]),
    concurrency: 20,
    connectTimeoutMs: 1000,
    requestTimeoutMs: 3000,
    shutdownTimeoutMs: 5000,
    ...rest,
    retry: { quickRetries: 1, attempts: 3, backoffBaseMs: 20, backoffMaxMs: 100, ...retry },
    circuit: { failureThreshold: 5, probeIntervalMs: 200, pausedProbeMs: 200, ...circuit },
  };
  const metrics = createMetrics();
  const queues = new ParticipantQueues({ connection: redis, prefix, retry: config.retry });
  const deadLetters = new DeadLetters({ connection: redis, prefix, queues });
  const outcomes: OutcomeCall[] = [];
  const afterSends: Stack['afterSends'] = [];
  const runtimes: WorkerRuntime[] = [];
  const hooks: PipelineHooks = {
    onOutcome: async (_job, jobId, outcome, detail) =>
      void outcomes.push({ jobId, outcome, detail }),
    afterSend: async (_job, jobId, detail) => void afterSends.push({ jobId, detail }),
  };
  const stack: Stack = {
    mock,
    account,
    conference,
    redis,
    prefix,
    config,
    metrics,
    queues,
    deadLetters,
    outcomes,
    afterSends,
    jobs: (overrides = {}, callSids = conference.callSids) =>
      callSids.map((callSid) => ({
        v: 1 as const,
        space: 'default',
        conferenceSid: conference.sid,
        callSid,
        op: 'update' as const,
        params: { Muted: true },
        batchId: 'batch-1',
        intent: 1,
        ...overrides,
      })),
    async start(options = {}) {
      const runtime = await startWorkerRuntime({
        config,
        connection: redis,
        logger: silentLogger,
        metrics,
        hooks,
        ...options,
      });
      runtimes.push(runtime);
      return runtime;
    },
    waitForOutcomes: (n, timeoutMs = 15_000) =>
      until(() => outcomes.length >= n, timeoutMs, `${n} outcomes (have ${outcomes.length})`),
  };
  try {
    await fn(stack);
  } finally {
    for (const runtime of runtimes) await runtime.close(2000).catch(() => {});
    await deadLetters.close().catch(() => {});
    await queues.close().catch(() => {});
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
    await mock.stop();
  }
}

/** POSTs per call SID in the mock's log. */
export function postsPerCall(mock: MockServer): Map<string, number> {
  const perCall = new Map<string, number>();
  for (const r of mock.requestLog()) {
    if (r.method === 'POST' && r.callSid) perCall.set(r.callSid, (perCall.get(r.callSid) ?? 0) + 1);
  }
  return perCall;
}

/** A call SID that is in no conference. */
export function strangerCallSid(): string {
  return randomUUID();
}

/** Sum of a counter's values whose labels match `labels`. */
export async function counterValue(
  metrics: Metrics,
  name: keyof Metrics,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = metrics[name] as {
    get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }>;
  };
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
