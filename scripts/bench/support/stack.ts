/**
 * The scene of one benchmark or chaos scenario: a private redis-server, a mock
 * Compatibility API with one account and one conference, and worker child processes
 * configured for both, exactly as an operator would configure them (environment
 * variables, `workers/worker.ts`). `withStack` tears everything down whatever happens.
 * With `CONFBULK_TEST_TOPOLOGY=cluster` the private Redis is a 3+3 Redis Cluster
 * (scripts/redis-cluster.ts) that workers and the CLI reach through REDIS_CLUSTER_NODES;
 * such a stack cannot `redis.restart()` (a cluster restarts node by node).
 */
import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../../../src/queues.js';
import { loadConfig, type ConfbulkConfig } from '../../../src/config.js';
import { ParticipantQueues } from '../../../src/jobs/enqueue.js';
import type { ParticipantJobData } from '../../../src/jobs/participant-job.js';
import {
  startMock,
  type MockAccount,
  type MockConference,
  type MockOptions,
  type MockServer,
} from '../../../src/mock/index.js';
import { createRedis, primaries, type RedisTarget } from '../../../src/queues.js';
import { provisionRedisCluster } from '../../redis-cluster.js';
import { provisionRedis, type ProvisionedRedis } from '../../redis.js';
import { spawnTsx, type ChildHandle } from './processes.js';

export interface StackOptions {
  /** Participants of the conference created at start. */
  participants: number;
  /** Mock options; its rate limit is off unless given. */
  mock?: MockOptions;
  /** Extra `redis-server` arguments (e.g. AOF for the Redis restart). */
  redisArgs?: string[];
  /** API token of the mock account. @defaultValue a random one */
  token?: string;
  /** Environment of every worker and of `config()`, on top of the stack's own. */
  env?: Record<string, string>;
}

export interface Worker extends ChildHandle {
  /** Resolves when the worker said it is ready. */
  ready(timeoutMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name?: string;
  env?: Record<string, string>;
  args?: string[];
}

export interface Stack {
  redis: ProvisionedRedis;
  /** A client of the private Redis for checks (never closed by callers). */
  client: RedisConnection;
  mock: MockServer;
  account: MockAccount;
  conference: MockConference;
  prefix: string;
  /** The environment workers and the CLI get (Redis, prefix, the mock's space profile). */
  env(extra?: Record<string, string>): Record<string, string>;
  /** `loadConfig()` of that environment, for in-process producers. */
  config(extra?: Record<string, string>): ConfbulkConfig;
  /** Participant queues on the stack's connection (opened on first use). */
  queues(): ParticipantQueues;
  /** Update jobs muting `callSids` (default: every participant) under `batchId`. */
  jobs(batchId: string, callSids?: readonly string[]): ParticipantJobData[];
  /** Starts `workers/worker.ts`. */
  spawnWorker(options?: SpawnOptions): Worker;
  /** Starts the bare BullMQ worker of bare-worker.ts (benchmark baselines). */
  spawnBareWorker(options?: SpawnOptions): Worker;
  /** Workers started so far, running or not. */
  readonly workers: Worker[];
  /** Stops every worker, empties Redis, clears the mock's log and faults. */
  reset(): Promise<void>;
}

const PREFIX = 'confbulk';

let lastVersion: string | undefined;

/** Version of the last Redis server a stack started (for reports). */
export function lastRedisVersion(): string {
  return lastVersion ?? 'unknown';
}

/** Whether stacks run on a private Redis Cluster (CONFBULK_TEST_TOPOLOGY=cluster). */
export function stacksOnCluster(): boolean {
  return process.env.CONFBULK_TEST_TOPOLOGY === 'cluster';
}

/** The stack's private Redis, the environment naming it, and the target of its client. */
interface Backend {
  redis: ProvisionedRedis;
  env: Record<string, string>;
  target: string | RedisTarget;
}

async function provisionBackend(options: StackOptions): Promise<Backend> {
  const log = (msg: string) => console.error(`[redis] ${msg}`);
  if (!stacksOnCluster()) {
    const redis = await provisionRedis({
      forcePrivate: true,
      serverArgs: options.redisArgs ?? [],
      log,
    });
    return { redis, env: { REDIS_URL: redis.url }, target: redis.url };
  }
  const cluster = await provisionRedisCluster({ log });
  const seeds = cluster.nodes.map((node) => node.address);
  const redis: ProvisionedRedis = {
    url: `redis://${cluster.seed}`,
    owned: true,
    version: cluster.version,
    stop: () => cluster.stop(),
    restart: () => Promise.reject(new Error('a Redis Cluster stack restarts no server')),
  };
  return {
    redis,
    env: { REDIS_URL: '', REDIS_CLUSTER_NODES: seeds.join(',') },
    target: { redisClusterNodes: seeds },
  };
}

export async function withStack<T>(
  options: StackOptions,
  fn: (stack: Stack) => Promise<T>,
): Promise<T> {
  const backend = await provisionBackend(options);
  const { redis } = backend;
  lastVersion = redis.version;
  let client: RedisConnection | undefined;
  let mock: MockServer | undefined;
  let queues: ParticipantQueues | undefined;
  const workers: Worker[] = [];
  try {
    client = createRedis(backend.target);
    client.on('error', () => {});
    mock = await startMock({ rateLimit: null, ...options.mock });
    const account = mock.createAccount(
      options.token ? { token: options.token } : { token: `sw-${randomUUID()}` },
    );
    const conference = mock.createConference(account.accountSid, {
      participants: options.participants,
    });
    const stack = buildStack(backend, client, mock, account, conference, options, workers, () => {
      queues ??= new ParticipantQueues({
        connection: client as RedisConnection,
        prefix: PREFIX,
        retry: stack.config().retry,
      });
      return queues;
    });
    return await fn(stack);
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop(5000)));
    await queues?.close().catch(() => {});
    client?.disconnect();
    await mock?.stop();
    await redis.stop();
  }
}

function buildStack(
  { redis, env: redisEnv }: Backend,
  client: RedisConnection,
  mock: MockServer,
  account: MockAccount,
  conference: MockConference,
  options: StackOptions,
  workers: Worker[],
  queues: () => ParticipantQueues,
): Stack {
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...redisEnv,
    CONFBULK_PREFIX: PREFIX,
    SIGNALWIRE_SPACE_URL: mock.url,
    SIGNALWIRE_PROJECT_ID: account.accountSid,
    SIGNALWIRE_API_TOKEN: account.token,
    LOG_LEVEL: 'info',
    ...options.env,
    ...extra,
  });
  const spawnOne = (script: string, readyText: string, kind: string, o: SpawnOptions): Worker => {
    const name = o.name ?? `${kind} ${workers.length + 1}`;
    const child = spawnTsx(name, script, o.args ?? [], env(o.env));
    const worker: Worker = {
      ...child,
      ready: (timeoutMs = 60_000) => child.waitFor(readyText, timeoutMs),
    };
    workers.push(worker);
    return worker;
  };
  return {
    redis,
    client,
    mock,
    account,
    conference,
    prefix: PREFIX,
    env,
    config: (extra = {}) => loadConfig(env(extra)),
    queues,
    jobs: (batchId, callSids = conference.callSids) =>
      callSids.map((callSid) => ({
        v: 1 as const,
        space: 'default',
        conferenceSid: conference.sid,
        callSid,
        op: 'update' as const,
        params: { Muted: true },
        batchId,
        intent: 1,
      })),
    spawnWorker: (o = {}) => spawnOne('workers/worker.ts', '"worker ready"', 'worker', o),
    spawnBareWorker: (o = {}) =>
      spawnOne('scripts/bench/support/bare-worker.ts', 'bare worker ready', 'bare worker', o),
    workers,
    async reset() {
      await Promise.allSettled(workers.map((w) => w.stop(5000)));
      await Promise.all(primaries(client).map((node) => node.flushall()));
      mock.clearFaults();
      mock.resetLog();
    },
  };
}
