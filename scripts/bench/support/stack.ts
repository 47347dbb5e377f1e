/**
 * The scene of one benchmark or chaos scenario: a private redis-server, a mock
 * Compatibility API with one account and one conference, and worker child processes
 * configured for both, exactly as an operator would configure them (environment
 * variables, `workers/worker.ts`). `withStack` tears everything down whatever happens.
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
import { createRedis } from '../../../src/queues.js';
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

export async function withStack<T>(
  options: StackOptions,
  fn: (stack: Stack) => Promise<T>,
): Promise<T> {
  const redis = await provisionRedis({
    forcePrivate: true,
    serverArgs: options.redisArgs ?? [],
    log: (msg) => console.error(`[redis] ${msg}`),
  });
  lastVersion = redis.version;
  let client: RedisConnection | undefined;
  let mock: MockServer | undefined;
  let queues: ParticipantQueues | undefined;
  const workers: Worker[] = [];
  try {
    client = createRedis(redis.url);
    client.on('error', () => {});
    mock = await startMock({ rateLimit: null, ...options.mock });
    const account = mock.createAccount(
      options.token ? { token: options.token } : { token: `sw-${randomUUID()}` },
    );
    const conference = mock.createConference(account.accountSid, {
      participants: options.participants,
    });
    const stack = buildStack(redis, client, mock, account, conference, options, workers, () => {
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
  redis: ProvisionedRedis,
  client: RedisConnection,
  mock: MockServer,
  account: MockAccount,
  conference: MockConference,
  options: StackOptions,
  workers: Worker[],
  queues: () => ParticipantQueues,
): Stack {
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    REDIS_URL: redis.url,
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
      await client.flushall();
      mock.clearFaults();
      mock.resetLog();
    },
  };
}
