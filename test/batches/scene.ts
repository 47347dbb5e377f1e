/**
 * A scene for batch tests read the way users read batches: a mock API with one conference,
 * a unique prefix, the HTTP API, the CLI in process, and worker stacks started on demand
 * (each with its own environment, so one can lack a space profile or the webhook secret).
 */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { loadConfig, type ConfbulkConfig } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import { openDeadLetters } from '../../src/http/dependencies.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { startMock, type MockAccount, type MockServer } from '../../src/mock/index.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import type { Batch, BatchReason } from '../../src/types.js';
import { startWorkerStack, type WorkerStack } from '../../src/worker/stack.js';
import { confbulk } from '../cli/run-cli.js';
import { deleteKeys, testRedis, testRedisEnv, uniquePrefix } from '../helpers/redis.js';
import { until } from '../worker/support/stack.js';

export const API_TOKEN = 'reasons-test-token-0123456789';

export interface Scene {
  mock: MockServer;
  account: MockAccount;
  conferenceSid: string;
  env: NodeJS.ProcessEnv;
  app: FastifyInstance;
  /** The batch as `confbulk status ID --json` prints it. */
  status(id: string): Promise<Batch>;
  /** The batch as `GET /v1/batches/:id` returns it. */
  http(id: string): Promise<Batch>;
  /** Starts a worker stack on the scene's environment changed by `env` (undefined deletes). */
  startWorker(env?: NodeJS.ProcessEnv, logger?: Logger): Promise<WorkerStack>;
  /** Polls `status --json` until the batch's reason has `code`; checks the API agrees. */
  untilReason(id: string, code: BatchReason['code'], timeoutMs?: number): Promise<BatchReason>;
}

export interface SceneSetup {
  participants?: number;
  /** Start an in-process worker stack. @defaultValue true */
  worker?: boolean;
  /** Environment of the worker (and the CLI) besides the defaults. */
  env?: NodeJS.ProcessEnv;
  /** What the worker's space profile says, when not the mock's own values. */
  spaceUrl?: string;
  token?: string;
}

export async function withScene(
  setup: SceneSetup,
  fn: (scene: Scene) => Promise<void>,
): Promise<void> {
  const mock = await startMock({ rateLimit: null });
  const account = mock.createAccount();
  const conference = mock.createConference(account.accountSid, {
    participants: setup.participants ?? 20,
  });
  const prefix = uniquePrefix();
  const env: NodeJS.ProcessEnv = {
    ...testRedisEnv(),
    CONFBULK_PREFIX: prefix,
    CONFBULK_API_TOKEN: API_TOKEN,
    SIGNALWIRE_SPACE_URL: setup.spaceUrl ?? mock.url,
    SIGNALWIRE_PROJECT_ID: account.accountSid,
    SIGNALWIRE_API_TOKEN: setup.token ?? account.token,
    LOG_LEVEL: 'silent',
    ...setup.env,
  };
  const config: ConfbulkConfig = loadConfig(env);
  const connection = testRedis({ maxRetriesPerRequest: null });
  const workers: WorkerStack[] = [];
  const startWorker = async (
    extra: NodeJS.ProcessEnv = {},
    logger: Logger = silentLogger,
  ): Promise<WorkerStack> => {
    const merged = Object.fromEntries(
      Object.entries({ ...env, ...extra }).filter(([, v]) => v !== undefined),
    );
    const stack = await startWorkerStack({ config: loadConfig(merged), connection, logger });
    workers.push(stack);
    return stack;
  };
  const producer = await createConfbulk({ config });
  const dlq = await openDeadLetters(config);
  const app = await buildApp({
    config,
    confbulk: producer,
    deadLetters: dlq.deadLetters,
    logger: silentLogger,
  });
  try {
    if (setup.worker ?? true) await startWorker();
    const status = async (id: string): Promise<Batch> => {
      const r = await confbulk(env, 'status', id, '--json');
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Batch;
    };
    const http = async (id: string): Promise<Batch> => {
      const res = await app.inject({
        url: `/v1/batches/${id}`,
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      expect(res.statusCode).toBe(200);
      return res.json<Batch>();
    };
    const untilReason = async (
      id: string,
      code: BatchReason['code'],
      timeoutMs = 15_000,
    ): Promise<BatchReason> => {
      let last: Batch | undefined;
      await until(
        async () => {
          last = await status(id);
          return last.reason?.code === code;
        },
        timeoutMs,
        `reason ${code} (last: ${JSON.stringify(last?.reason)} in state ${last?.state})`,
      );
      const reason = last?.reason as BatchReason;
      expect(Date.parse(reason.lastTrueAt)).toBeGreaterThan(Date.now() - 60_000);
      // The API reads the same state and says the same.
      let viaHttp: Batch | undefined;
      await until(
        async () => (viaHttp = await http(id)).reason?.code === code,
        5000,
        `the API to report ${code}`,
      );
      expect(viaHttp?.reason).toMatchObject({ code, lastTrueAt: expect.any(String) });
      return reason;
    };
    await fn({
      mock,
      account,
      conferenceSid: conference.sid,
      env,
      app,
      status,
      http,
      untilReason,
      startWorker,
    });
  } finally {
    for (const stack of workers) await stack.close(2000);
    await app.close();
    await producer.close();
    await dlq.close();
    await deleteKeys(connection, prefix);
    connection.disconnect();
    await mock.stop();
  }
}
