/**
 * A worker process: configuration, connections, API clients, the batch parts (fan-out,
 * schedules, latest-intent-wins hooks), the worker runtime, a progress line, an optional
 * metrics/health listener, and graceful shutdown on SIGTERM/SIGINT with a watchdog.
 */
import type { RedisConnection } from '../queues.js';
import { loadConfig, secretsOf, type ConfbulkConfig } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { startWorkerHttp, type WorkerHttp } from '../ops/worker-http.js';
import { closeRedis, createRedis, requireRedis } from '../queues.js';
import { RedisHealth } from '../redis-health.js';
import { startProgressLog } from './progress.js';
import type { StalledJobOptions, WorkerRuntime } from './runtime.js';
import { closeAll } from './shutdown.js';
import { startWorkerStack } from './stack.js';

export interface WorkerProcessOptions {
  /** @defaultValue `loadConfig()` (defaults < CONFBULK_CONFIG file < environment) */
  config?: ConfbulkConfig;
  /** Participant jobs in flight per space. @defaultValue `config.concurrency` */
  concurrency?: number;
  /** Port of `/metrics`, `/healthz`, `/readyz`. @defaultValue `config.metricsPort` (none) */
  metricsPort?: number;
  /** @defaultValue a pino logger at `config.logLevel` that scrubs the configured secrets */
  logger?: Logger;
  stalled?: StalledJobOptions;
  /** Stop gracefully on SIGTERM and SIGINT. @defaultValue true */
  handleSignals?: boolean;
  /** Interval of the progress line in ms; 0 = none. @defaultValue 10000 */
  progressIntervalMs?: number;
}

export interface WorkerProcess {
  readonly runtime: WorkerRuntime;
  /** Where `/metrics` is served, when a metrics port was given. */
  readonly metricsUrl: string | undefined;
  /** Graceful stop (see `WorkerRuntime.close`), then every connection. Idempotent. */
  close(): Promise<void>;
}

/** The watchdog gives a hung shutdown this much more than `shutdownTimeoutMs`. */
const WATCHDOG_GRACE_MS = 5000;

function requireRedisUrl(config: ConfbulkConfig): ConfbulkConfig {
  return requireRedis(
    config,
    'a worker needs the Redis server that every confbulk process shares ' +
      '(e.g. REDIS_URL=redis://127.0.0.1:6379, or redisUrl in the CONFBULK_CONFIG file)',
  );
}

/** Starts a worker process; resolves once its workers are connected. */
export async function runWorkerProcess(options: WorkerProcessOptions = {}): Promise<WorkerProcess> {
  const config = options.config ?? loadConfig();
  const target = requireRedisUrl(config);
  const logger =
    options.logger ??
    createLogger({
      level: config.logLevel,
      secrets: secretsOf(config),
      base: { service: 'worker' },
    });
  const metrics = createMetrics({ defaultMetrics: true });
  const redisHealth = new RedisHealth(logger, target);
  const connection: RedisConnection = redisHealth.watch(createRedis(target), 'connection');
  // Released in the reverse order of acquisition, like a stack.
  const acquired: [string, () => Promise<void>][] = [['connection', () => closeRedis(connection)]];
  const releaseAll = (): Promise<void> => closeAll(logger, [...acquired].reverse());
  const fail = async (err: unknown): Promise<never> => {
    await releaseAll().catch(() => {});
    throw err;
  };

  const stack = await startWorkerStack({
    config,
    connection,
    logger,
    metrics,
    ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
    ...(options.stalled && { stalled: options.stalled }),
    redisHealth,
  }).catch(fail);
  acquired.push(['worker stack', () => stack.close()]);
  const { runtime, queues } = stack;

  const metricsPort = options.metricsPort ?? config.metricsPort;
  let http: WorkerHttp | undefined;
  if (metricsPort !== undefined) {
    const depths = [...config.spaces.keys()].map((space) => queues.queue(space));
    const listener = await startWorkerHttp({
      port: metricsPort,
      host: config.metricsHost,
      metrics,
      redis: connection,
      queues: depths,
    }).catch(fail);
    acquired.push(['metrics listener', () => listener.close()]);
    http = listener;
  }
  const progress = startProgressLog(runtime, logger, options.progressIntervalMs ?? 10_000);
  acquired.push(['progress log', async () => progress.stop()]);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= releaseAll().then(() => logger.info('worker stopped'));
    return closing;
  };
  if (options.handleSignals ?? true) installSignalHandlers(close, config.shutdownTimeoutMs, logger);
  logger.info(
    {
      spaces: [...config.spaces.keys()],
      concurrency: options.concurrency ?? config.concurrency,
      metricsUrl: http?.url,
    },
    'worker ready',
  );
  return { runtime, metricsUrl: http?.url, close };
}

/**
 * SIGTERM/SIGINT: graceful close, then exit. A watchdog exits anyway (code 1) if the close
 * hangs past `shutdownTimeoutMs` + 5 s; a second signal exits at once (code 130).
 */
function installSignalHandlers(
  close: () => Promise<void>,
  shutdownTimeoutMs: number,
  logger: Logger,
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(
        `confbulk worker: second ${signal}; exiting without waiting for requests in flight`,
      );
      process.exit(130);
    }
    stopping = true;
    logger.info(
      { signal },
      'shutting down: handing back waiting jobs, finishing requests in flight',
    );
    const limit = shutdownTimeoutMs + WATCHDOG_GRACE_MS;
    const watchdog = setTimeout(() => {
      console.error(
        `confbulk worker: shutdown did not finish within ${limit} ms; exiting anyway (unfinished jobs will be recovered as stalled)`,
      );
      process.exit(1);
    }, limit);
    watchdog.unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`confbulk worker: shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
