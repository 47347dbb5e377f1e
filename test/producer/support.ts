/**
 * Helpers of the producer tests: a configuration pointing at a mock space, Redis keys
 * under a prefix, and a producer (optionally with workers) that is always closed.
 */
import type { RedisConnection } from '../../src/queues.js';
import { DEFAULTS, type ConfbulkConfig } from '../../src/config.js';
import type { ParticipantQueues } from '../../src/jobs/enqueue.js';
import {
  mockSpaceProfile,
  startMock,
  type MockAccount,
  type MockServer,
} from '../../src/mock/index.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import type { Confbulk } from '../../src/types.js';
import type { WorkerRuntime } from '../../src/worker/runtime.js';
import type { WebhookDeliveryOptions } from '../../src/worker/parts.js';
import { startWorkerStack } from '../../src/worker/stack.js';
import { deleteKeys, keysUnder, testRedis, testTarget, uniquePrefix } from '../helpers/redis.js';

export const WEBHOOK_SECRET = 'test-webhook-secret';

/** A configuration whose `default` space is `account` of `mock` (or a placeholder). */
export function testConfig(
  prefix: string,
  space?: { mock: MockServer; account: MockAccount },
): ConfbulkConfig {
  const profile = space
    ? mockSpaceProfile(space.mock, space.account)
    : {
        name: 'default',
        spaceUrl: 'http://127.0.0.1:9',
        projectId: 'p',
        apiToken: 'placeholder-token',
      };
  return {
    ...DEFAULTS,
    ...testTarget(),
    prefix,
    spaces: new Map([
      ['default', { ...profile, rateLimits: [{ count: 20_000, durationMs: 1000 }] }],
    ]),
    concurrency: 50,
    retry: { quickRetries: 1, attempts: 3, backoffBaseMs: 50, backoffMaxMs: 200 },
    requestTimeoutMs: 5000,
    shutdownTimeoutMs: 5000,
    webhookSecret: WEBHOOK_SECRET,
    // The tests' https receivers listen on loopback.
    webhookAllowHosts: ['localhost'],
    // The tests fire per-second crons.
    schedule: { ...DEFAULTS.schedule, minIntervalMs: 1000 },
  };
}

export { keysUnder };

export interface Scene {
  redis: RedisConnection;
  prefix: string;
  config: ConfbulkConfig;
  confbulk: Confbulk;
  mock?: MockServer;
  account?: MockAccount;
  /** Starts workers (runtime + the producer's parts); stopped by the scene's cleanup. */
  startWorkers(options?: {
    concurrency?: number;
    webhooks?: WebhookDeliveryOptions;
  }): Promise<Workers>;
}

export interface Workers {
  runtime: WorkerRuntime;
  queues: ParticipantQueues;
  stop(): Promise<void>;
}

/**
 * Runs `fn` with a fresh prefix, a producer and, when `withMock`, a mock space; closes
 * everything and deletes the prefix's keys afterwards.
 */
export async function withScene<T>(
  fn: (scene: Scene) => Promise<T>,
  options: { withMock?: boolean; config?: Partial<ConfbulkConfig> } = {},
): Promise<T> {
  const redis = testRedis({ maxRetriesPerRequest: null });
  const prefix = uniquePrefix();
  const mock = options.withMock ? await startMock() : undefined;
  const account = mock?.createAccount();
  const config = {
    ...testConfig(prefix, mock && account ? { mock, account } : undefined),
    ...options.config,
  };
  const confbulk = await createConfbulk({ config, connection: redis });
  const started: Workers[] = [];
  const scene: Scene = {
    redis,
    prefix,
    config,
    confbulk,
    ...(mock && { mock }),
    ...(account && { account }),
    async startWorkers(o = {}) {
      const workers = await startWorkers(config, redis, o.concurrency, o.webhooks);
      started.push(workers);
      return workers;
    },
  };
  try {
    return await fn(scene);
  } finally {
    for (const w of started) await w.stop().catch(() => {});
    await confbulk.close().catch(() => {});
    await mock?.stop();
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
  }
}

async function startWorkers(
  config: ConfbulkConfig,
  redis: RedisConnection,
  concurrency?: number,
  webhooks?: WebhookDeliveryOptions,
): Promise<Workers> {
  const connection = redis.duplicate();
  const stack = await startWorkerStack({
    config,
    connection,
    ...(concurrency !== undefined && { concurrency }),
    ...(webhooks && { webhooks }),
    stalled: { lockDurationMs: 5000, stalledIntervalMs: 2000 },
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await stack.close(3000).catch(() => {});
      await connection.quit().catch(() => connection.disconnect());
    })());
  return { runtime: stack.runtime, queues: stack.queues, stop };
}

/** Polls `check` until it is true or `timeoutMs` passed. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  stepMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const SID = (n: number): string =>
  `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
