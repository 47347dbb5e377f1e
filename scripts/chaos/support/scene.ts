/**
 * The scene of a batch under fire: a private Redis, the mock, N worker processes and a
 * producer that mutes a whole conference; then what became of every participant, read
 * from the mock (what the API saw), BullMQ (attempts) and the dead letters.
 */
import { DeadLetters } from '../../../src/dead-letters/dead-letters.js';
import type { MockOptions } from '../../../src/mock/index.js';
import { createConfbulk } from '../../../src/producer/confbulk.js';
import type { Batch, BatchHandle, Confbulk } from '../../../src/types.js';
import { clearTranscripts, childTranscripts } from '../../bench/support/processes.js';
import { withStack, type Stack, type Worker } from '../../bench/support/stack.js';
import { until } from '../../bench/support/window.js';
import { check, type Check } from './scenario.js';
import { credentialForms, scanRedis, scanTranscripts } from './secrets.js';

export interface SceneOptions {
  participants: number;
  /** Worker processes started before the batch. */
  workers: number;
  /** `CONFBULK_RATE_LIMIT` of the workers (the mock is not limited unless `mockLimit`). */
  rateLimit: string;
  /** Jobs in flight per worker process. @defaultValue 50 */
  concurrency?: number;
  /** Mock answer latency in ms (+ up to 10 ms jitter). @defaultValue 20 */
  latencyMs?: number;
  mockLimit?: { count: number; durationMs: number };
  /** How the mock answers what SignalWire does not document (Retry-After, ...). @defaultValue SignalWire's documented answers */
  mockAnswers?: Pick<MockOptions, 'retryAfter' | 'rateLimitReset' | 'headersOn429' | 'leavers'>;
  redisArgs?: string[];
  /** More worker environment (LOG_LEVEL, ...). */
  env?: Record<string, string>;
}

export interface Scene {
  stack: Stack;
  confbulk: Confbulk;
  /** Worker processes started so far (killed ones included). */
  workers: Worker[];
  concurrency: number;
  /** Starts one more worker process (not waiting for it). */
  spawnWorker(): Worker;
  /** Mutes every participant of the conference. */
  submit(): Promise<BatchHandle>;
  /** Participant updates the mock applied so far. */
  applied(): number;
  /** Resolves once the mock applied `n` updates. */
  waitApplied(n: number, timeoutMs?: number): Promise<void>;
  /** The credential forms the secret scan looks for. */
  secrets(): string[];
}

/**
 * Short locks so that a killed process's jobs come back within seconds (production
 * defaults: 30 s lock, 15 s check); the same for every scenario.
 */
export const RECOVERY_ARGS = ['--lock-duration-ms', '5000', '--stalled-interval-ms', '2500'];

export async function withScene<T>(
  options: SceneOptions,
  fn: (scene: Scene) => Promise<T>,
): Promise<T> {
  clearTranscripts();
  const concurrency = options.concurrency ?? 50;
  const env = {
    CONFBULK_CONCURRENCY: String(concurrency),
    CONFBULK_RATE_LIMIT: options.rateLimit,
    ...options.env,
  };
  return withStack(
    {
      participants: options.participants,
      mock: {
        rateLimit: options.mockLimit ?? null,
        ...options.mockAnswers,
        faults: { latencyMs: options.latencyMs ?? 20, jitterMs: 10 },
      },
      redisArgs: options.redisArgs ?? [],
      env,
    },
    async (stack) => {
      const confbulk = await createConfbulk({ config: stack.config(), pollMs: 100 });
      const scene: Scene = {
        stack,
        confbulk,
        workers: stack.workers,
        concurrency,
        spawnWorker: () => stack.spawnWorker({ args: RECOVERY_ARGS }),
        submit: () =>
          confbulk.bulkAction({ action: 'mute', target: { conferenceSid: stack.conference.sid } }),
        applied: () => stack.mock.counters().appliedUpdates,
        waitApplied: (n, timeoutMs = 120_000) =>
          until(
            () => stack.mock.counters().appliedUpdates >= n,
            timeoutMs,
            `${n} updates at the mock`,
          ),
        secrets: () => credentialForms(stack.account.accountSid, stack.account.token),
      };
      try {
        for (let i = 0; i < options.workers; i++) scene.spawnWorker();
        await Promise.all(stack.workers.map((w) => w.ready()));
        return await fn(scene);
      } finally {
        await confbulk.close().catch(() => {});
      }
    },
  );
}

/** Waits for the batch to end; on timeout, returns it as it is (`ended: false`). */
export async function waitForBatch(
  scene: Scene,
  id: string,
  timeoutMs: number,
): Promise<{ batch: Batch; ended: boolean }> {
  try {
    return { batch: await scene.confbulk.waitForBatch(id, { timeoutMs }), ended: true };
  } catch {
    const batch = await scene.confbulk.getBatch(id);
    if (!batch) throw new Error(`batch ${id} vanished`);
    return { batch, ended: false };
  }
}

export interface Inspection {
  /** Participants neither muted at the mock nor dead-lettered. */
  lost: number;
  /** POSTs at the mock. */
  posts: number;
  /** POSTs for a participant beyond its first, whatever their answer. */
  duplicates: number;
  /** 2xx answers for a participant beyond its first: updates applied more than once. */
  appliedTwice: number;
  deadLetters: number;
  /** BullMQ attempts of the completed jobs (1 = the first try succeeded). */
  maxAttempts: number;
  meanAttempts: number;
  /** Update jobs not completed (waiting, active, delayed, failed). */
  notCompleted: number;
}

async function attemptsOf(scene: Scene): Promise<number[]> {
  const queue = scene.stack.queues().queue('default');
  const attempts: number[] = [];
  for (let start = 0; ; start += 1000) {
    const jobs = await queue.getJobs(['completed'], start, start + 999, true);
    attempts.push(...jobs.map((j) => j.attemptsMade));
    if (jobs.length < 1000) return attempts;
  }
}

/** What became of every participant and job. */
export async function inspect(scene: Scene): Promise<Inspection> {
  const { stack } = scene;
  const perCall = new Map<string, { posts: number; ok: number }>();
  let posts = 0;
  for (const entry of stack.mock.requestLog()) {
    if (entry.method !== 'POST' || !entry.callSid) continue;
    posts++;
    const c = perCall.get(entry.callSid) ?? { posts: 0, ok: 0 };
    c.posts++;
    if (entry.status >= 200 && entry.status < 300) c.ok++;
    perCall.set(entry.callSid, c);
  }
  const deadLetters = new DeadLetters({ connection: stack.client, prefix: stack.prefix });
  const dead = await deadLetters.count().finally(() => deadLetters.close());
  const muted = stack.mock.participants(stack.conference.sid).filter((p) => p.muted).length;
  const attempts = await attemptsOf(scene);
  const queue = stack.queues().queue('default');
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
  const values = [...perCall.values()];
  return {
    lost: Math.max(0, stack.conference.callSids.length - muted - dead),
    posts,
    duplicates: values.reduce((s, c) => s + Math.max(0, c.posts - 1), 0),
    appliedTwice: values.reduce((s, c) => s + Math.max(0, c.ok - 1), 0),
    deadLetters: dead,
    maxAttempts: attempts.length ? Math.max(...attempts) : 0,
    meanAttempts: attempts.length ? attempts.reduce((s, a) => s + a, 0) / attempts.length : 0,
    notCompleted: Object.values(counts).reduce((s, n) => s + n, 0),
  };
}

/** The checks every batch scenario makes: the batch completed, nothing lost, no dead letter. */
export function batchChecks(n: number, batch: Batch, ended: boolean, found: Inspection): Check[] {
  const c = batch.counts;
  return [
    check(
      'every job ends terminal: the batch completes with all its participants',
      ended && batch.state === 'completed' && c.total === n && c.pending === 0,
      `state ${batch.state}, total ${c.total}/${n}, pending ${c.pending}, jobs not completed ${found.notCompleted}`,
    ),
    check('lost = 0 (every participant muted at the API)', found.lost === 0, `lost ${found.lost}`),
    check(
      'no dead letters',
      found.deadLetters === 0 && c.deadLettered === 0,
      `dead letters ${found.deadLetters}`,
    ),
  ];
}

/** The secret scan of a scene: every Redis key and value, every line of every child's output. */
export async function secretChecks(
  scene: Scene,
  extraTexts: { name: string; text: string }[] = [],
): Promise<{ checks: Check[]; scanned: string }> {
  const needles = scene.secrets();
  const redis = await scanRedis(scene.stack.client, needles);
  const logs = scanTranscripts([...childTranscripts(), ...extraTexts], needles);
  return {
    checks: [
      check(
        'the API token is in no Redis key or value',
        redis.hits.length === 0,
        redis.hits.length
          ? `found in ${redis.hits.slice(0, 5).join(', ')}`
          : `${redis.keys} keys scanned`,
      ),
      check(
        'the API token is in no log line of workers or CLI',
        logs.hits.length === 0,
        logs.hits.length ? logs.hits.slice(0, 3).join(' | ') : `${logs.lines} lines scanned`,
      ),
    ],
    scanned: `${redis.keys} keys, ${logs.lines} log lines`,
  };
}
