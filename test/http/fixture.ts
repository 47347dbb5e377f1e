/**
 * Builds the API on a real producer and dead-letter store, on a fresh key prefix of the test
 * Redis, and tears everything down (keys included) whatever the test did.
 */
import type { FastifyInstance } from 'fastify';
import type { RedisConnection } from '../../src/queues.js';
import { loadConfig, type ConfbulkConfig } from '../../src/config.js';
import type { DeadLetters } from '../../src/dead-letters/dead-letters.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { TokenStore } from '../../src/auth/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { createMetrics } from '../../src/metrics.js';
import { apiOps } from '../../src/ops/api-plugins.js';
import { ProducerKeys } from '../../src/keys.js';
import { openDeadLetters } from '../../src/http/dependencies.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import { WebhookGuard, type ResolveHost } from '../../src/webhooks/guard.js';
import type { Confbulk } from '../../src/types.js';
import { deleteKeys, keysUnder, testRedis, testRedisEnv, uniquePrefix } from '../helpers/redis.js';

export const TOKEN = 'test-token-0123456789abcdef';
export const CONFERENCE_SID = '4f1b6e6a-1111-4000-8000-000000000001';
export const CALL_SID = '4f1b6e6a-2222-4000-8000-000000000002';

export interface ApiFixture {
  app: FastifyInstance;
  config: ConfbulkConfig;
  confbulk: Confbulk;
  deadLetters: DeadLetters;
  redis: RedisConnection;
  prefix: string;
  tokens: TokenStore;
  /**
   * Keys under the test prefix that hold work (batches, jobs, intents, dead letters), sorted:
   * every key but the queues' `meta` hashes, which BullMQ writes when a queue connects.
   */
  workKeys(): Promise<string[]>;
}

/** The environment of a test: one `default` space on a loopback URL that is never called. */
export function testEnv(prefix: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...testRedisEnv(),
    CONFBULK_PREFIX: prefix,
    CONFBULK_API_TOKEN: TOKEN,
    CONFBULK_WEBHOOK_SECRET: 'webhook-secret-0123456789',
    SIGNALWIRE_SPACE_URL: 'http://127.0.0.1:9',
    SIGNALWIRE_PROJECT_ID: '4f1b6e6a-0000-4000-8000-00000000000a',
    SIGNALWIRE_API_TOKEN: 'sw-token-0123456789',
    ...extra,
  };
}

async function scanKeys(redis: RedisConnection, prefix: string): Promise<string[]> {
  return (await keysUnder(redis, prefix)).sort();
}

/** Runs `fn` with a fresh app; closes it and deletes the prefix's keys afterwards. */
export async function withApi<T>(
  fn: (fx: ApiFixture) => Promise<T>,
  options: {
    env?: NodeJS.ProcessEnv;
    insecureLocal?: boolean;
    /** Add `/metrics`, `/readyz` and the dashboard, as the server does. @defaultValue false */
    ops?: boolean;
    /** @defaultValue silent */
    logger?: Logger;
    /** Resolver of webhook hosts (tests have no DNS). @defaultValue the system's */
    resolve?: ResolveHost;
  } = {},
): Promise<T> {
  const prefix = uniquePrefix();
  const config = loadConfig(testEnv(prefix, options.env));
  const redis = testRedis({ maxRetriesPerRequest: null });
  const confbulk = await createConfbulk({
    config,
    ...(options.resolve && {
      webhookGuard: new WebhookGuard({
        allowHosts: config.webhookAllowHosts,
        resolve: options.resolve,
      }),
    }),
  });
  const dlq = await openDeadLetters(config as ConfbulkConfig & { redisUrl: string });
  const tokens = new TokenStore(redis, new ProducerKeys(prefix), [...config.spaces.keys()]);
  const authenticator = new Authenticator({ bootstrapToken: config.apiToken, tokens });
  const metrics = createMetrics();
  const ops = options.ops
    ? apiOps({
        config,
        redis,
        metrics,
        authenticator,
        insecureLocal: options.insecureLocal,
        batchView: { confbulk, deadLetters: dlq.deadLetters },
      })
    : undefined;
  let app: FastifyInstance | undefined;
  try {
    app = await buildApp({
      config,
      confbulk,
      deadLetters: dlq.deadLetters,
      tokens,
      authenticator,
      metrics,
      logger: options.logger ?? silentLogger,
      insecureLocal: options.insecureLocal,
      extraPlugins: ops?.plugins ?? [],
    });
    return await fn({
      app,
      config,
      confbulk,
      deadLetters: dlq.deadLetters,
      redis,
      prefix,
      tokens,
      workKeys: async () => (await scanKeys(redis, prefix)).filter((k) => !k.endsWith(':meta')),
    });
  } finally {
    await app?.close();
    await Promise.allSettled([confbulk.close(), dlq.close(), ops?.close()]);
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
  }
}

export const auth = { authorization: `Bearer ${TOKEN}` };
