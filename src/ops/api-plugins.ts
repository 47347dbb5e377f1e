/**
 * Everything operations adds to the HTTP API, as `extraPlugins` for `buildApp`:
 * `/readyz` (open, for probes), `/metrics` (behind the metrics token or a token of every
 * space, unless `apiMetricsPort` gives it a listener of its own) and the dashboard under
 * `/admin` (admins of every space: the bearer token or a session cookie from
 * `/admin/login`).
 */
import type { DeadLetters } from '../dead-letters/dead-letters.js';
import type { Confbulk } from '../types.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { RedisConnection } from '../queues.js';
import type { ConfbulkConfig } from '../config.js';
import type { ExtraPlugin } from '../http/app.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { ProducerKeys } from '../keys.js';
import { closeRedis, createRedis, requireRedis } from '../queues.js';
import { dashboardPlugin } from './dashboard/plugin.js';
import { healthPlugin } from './health-plugin.js';
import { metricsPlugin } from './metrics-plugin.js';
import { openOpsQueues, workersRegisteredOn, type OpsQueues } from './queues.js';

export interface ApiOpsOptions {
  config: Pick<ConfbulkConfig, 'prefix' | 'spaces' | 'redisUrl' | 'redisClusterNodes'> &
    Partial<Pick<ConfbulkConfig, 'apiMetricsPort'>>;
  /**
   * A connection this module does not close.
   * @defaultValue one opened on `config.redisUrl` and closed by `close()`
   */
  redis?: RedisConnection;
  metrics: Metrics;
  /** Resolves API tokens and dashboard sessions. */
  authenticator: Authenticator;
  /** The API runs without a token on loopback (`--insecure-local`). @defaultValue false */
  insecureLocal?: boolean;
  /** Details of failed readiness checks are logged here. @defaultValue not logged */
  logger?: Logger;
  /** How long `/readyz` reuses a report, in ms. @defaultValue 1000 */
  readyCacheMs?: number;
  /** Serve the dashboard's batch view (src/ops/dashboard/batch-view.ts) on these. */
  batchView?: { confbulk: Confbulk; deadLetters: DeadLetters };
}

export interface ApiOps {
  /** Pass to `buildApp({ extraPlugins })`. */
  plugins: ExtraPlugin[];
  queues: OpsQueues;
  redis: RedisConnection;
  /** Closes what was opened here; call it after the app is closed. Idempotent. */
  close(): Promise<void>;
}

function connectionOf(options: ApiOpsOptions): { redis: RedisConnection; owned: boolean } {
  if (options.redis) return { redis: options.redis, owned: false };
  requireRedis(options.config, '/readyz, /metrics and the dashboard need Redis');
  return { redis: createRedis(options.config), owned: true };
}

/** Opens the queues of every configured space and builds the plugins described above. */
export function apiOps(options: ApiOpsOptions): ApiOps {
  const { config, metrics, logger } = options;
  const { redis, owned } = connectionOf(options);
  const queues = openOpsQueues({
    connection: redis,
    prefix: config.prefix,
    spaces: [...config.spaces.keys()],
  });
  const plugins: ExtraPlugin[] = [
    {
      plugin: healthPlugin({
        redis,
        workersRegistered: workersRegisteredOn([...queues.updates, queues.fanout]),
        ...(options.readyCacheMs !== undefined && { cacheMs: options.readyCacheMs }),
        onCheckFailed: (check, err) =>
          logger?.warn({ check, err: err.message }, 'readiness check failed'),
      }),
      access: 'public',
    },
    {
      plugin: dashboardPlugin({
        queues: queues.all,
        authenticator: options.authenticator,
        insecureLocal: options.insecureLocal ?? false,
        ...(options.batchView && { batchView: { ...options.batchView, redis, config } }),
        loginRateLimit: {
          redis: { connection: redis, keyPrefix: new ProducerKeys(config.prefix).loginAttempts() },
        },
      }),
      access: 'dashboard',
    },
  ];
  if (config.apiMetricsPort === undefined) {
    plugins.push({ plugin: metricsPlugin({ metrics, queues: queues.all }), access: 'metrics' });
  }
  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    await queues.close();
    if (owned) await closeRedis(redis);
  };
  return {
    plugins,
    queues,
    redis,
    close() {
      closing ??= close();
      return closing;
    },
  };
}
