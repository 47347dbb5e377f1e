/**
 * Everything operations adds to the HTTP API, as `extraPlugins` for `buildApp`:
 * `/metrics` and `/readyz` (open, for scrapers and probes) and the dashboard under
 * `/admin` (its own auth: the bearer token or a session cookie from `/admin/login`).
 */
import type { Redis } from 'ioredis';
import type { ConfbulkConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import type { ExtraPlugin } from '../http/app.js';
import type { Metrics } from '../metrics.js';
import { closeRedis, createRedis } from '../queues.js';
import { dashboardPlugin } from './dashboard/plugin.js';
import { healthPlugin } from './health-plugin.js';
import { metricsPlugin } from './metrics-plugin.js';
import { openOpsQueues, workersRegisteredOn, type OpsQueues } from './queues.js';

export interface ApiOpsOptions {
  config: Pick<ConfbulkConfig, 'apiToken' | 'prefix' | 'spaces' | 'redisUrl'>;
  /**
   * A connection this module does not close.
   * @defaultValue one opened on `config.redisUrl` and closed by `close()`
   */
  redis?: Redis;
  metrics: Metrics;
  /** The API runs without a token on loopback (`--insecure-local`). @defaultValue false */
  insecureLocal?: boolean;
  /** Put `/metrics` behind the bearer token too. @defaultValue false */
  metricsBehindToken?: boolean;
}

export interface ApiOps {
  /** Pass to `buildApp({ extraPlugins })`. */
  plugins: ExtraPlugin[];
  queues: OpsQueues;
  /** Closes what was opened here; call it after the app is closed. Idempotent. */
  close(): Promise<void>;
}

function connectionOf(options: ApiOpsOptions): { redis: Redis; owned: boolean } {
  if (options.redis) return { redis: options.redis, owned: false };
  if (!options.config.redisUrl) {
    throw new ConfigError(
      'REDIS_URL is not set: /readyz, /metrics and the dashboard need Redis',
      'REDIS_URL',
    );
  }
  return { redis: createRedis(options.config.redisUrl), owned: true };
}

/** Opens the queues of every configured space and builds the plugins described above. */
export function apiOps(options: ApiOpsOptions): ApiOps {
  const { config, metrics } = options;
  const { redis, owned } = connectionOf(options);
  const queues = openOpsQueues({
    connection: redis,
    prefix: config.prefix,
    spaces: [...config.spaces.keys()],
  });
  const plugins: ExtraPlugin[] = [
    {
      plugin: metricsPlugin({ metrics, queues: queues.all }),
      authenticated: options.metricsBehindToken ?? false,
    },
    {
      plugin: healthPlugin({
        redis,
        workersRegistered: workersRegisteredOn([...queues.updates, queues.fanout]),
      }),
      authenticated: false,
    },
    {
      plugin: dashboardPlugin({
        queues: queues.all,
        apiToken: config.apiToken,
        insecureLocal: options.insecureLocal ?? false,
      }),
      authenticated: false,
    },
  ];
  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    await queues.close();
    if (owned) await closeRedis(redis);
  };
  return {
    plugins,
    queues,
    close() {
      closing ??= close();
      return closing;
    },
  };
}
