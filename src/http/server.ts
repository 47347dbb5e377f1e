/**
 * The API server process: checks that it may serve as configured, opens the producer, the
 * dead-letter store and the operations plugins (`/metrics`, `/readyz`, the dashboard),
 * builds the app, listens, and closes everything on SIGTERM/SIGINT (a watchdog exits
 * anyway if that hangs; a second signal ends the process at once). `confbulk api` runs it.
 */
import type { FastifyInstance } from 'fastify';
import { loadConfig, secretsOf, type ConfbulkConfig } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { Authenticator } from '../auth/authenticator.js';
import { TokenStore } from '../auth/tokens.js';
import { apiOps } from '../ops/api-plugins.js';
import { startWorkerHttp } from '../ops/worker-http.js';
import { ProducerKeys } from '../keys.js';
import { closeRedis, createRedis } from '../queues.js';
import { buildApp, type ExtraPlugin } from './app.js';
import { checkApiSecurity } from './auth.js';
import { openDeadLetters } from './dependencies.js';
import { requireRedis } from '../queues.js';

export interface ApiServerOptions {
  /** @defaultValue `loadConfig()` */
  config?: ConfbulkConfig;
  /** Bind address. @defaultValue `config.apiHost` */
  host?: string;
  /** 0 picks a free port. @defaultValue `config.apiPort` */
  port?: number;
  /** Serve without a token; allowed only on a loopback host. @defaultValue false */
  insecureLocal?: boolean;
  /** @defaultValue a logger at `config.logLevel` on stdout */
  logger?: Logger;
  /** Plugins besides the operations ones (`/metrics`, `/readyz`, `/admin`), which are always added. */
  extraPlugins?: ExtraPlugin[];
  /** Close on SIGTERM and SIGINT. @defaultValue true */
  handleSignals?: boolean;
}

export interface ApiServer {
  app: FastifyInstance;
  /** `http://host:port` actually bound. */
  url: string;
  /** Resolves once the server and its connections are closed. */
  closed: Promise<void>;
  /** Stops accepting requests, lets in-flight ones finish, closes connections. Idempotent. */
  close(): Promise<void>;
}

function requireRedisUrl(config: ConfbulkConfig): ConfbulkConfig {
  return requireRedis(config, 'the API needs the Redis server the workers use');
}

/** Runs every close step even if one fails; rethrows the first failure. */
async function closeAll(steps: (() => Promise<void>)[]): Promise<void> {
  const results = await Promise.allSettled(steps.map((step) => step()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Starts the API server as described at the top of this file. */
export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const config = requireRedisUrl(options.config ?? loadConfig());
  const host = options.host ?? config.apiHost;
  const port = options.port ?? config.apiPort;
  checkApiSecurity({ token: config.apiToken, host, insecureLocal: options.insecureLocal });
  const logger =
    options.logger ??
    createLogger({
      level: config.logLevel,
      secrets: secretsOf(config),
      base: { service: 'api' },
    });

  const { createConfbulk } = await import('../producer/confbulk.js');
  const metrics = createMetrics({ defaultMetrics: true });
  const cleanups: (() => Promise<void>)[] = [];
  let app: FastifyInstance | undefined;
  try {
    const confbulk = await createConfbulk({ config, logger });
    cleanups.push(() => confbulk.close());
    const dlq = await openDeadLetters(config);
    cleanups.push(() => dlq.close());
    const redis = createRedis(config);
    const tokens = new TokenStore(redis, new ProducerKeys(config.prefix), [
      ...config.spaces.keys(),
    ]);
    const authenticator = new Authenticator({ bootstrapToken: config.apiToken, tokens });
    const ops = apiOps({
      config,
      redis,
      metrics,
      authenticator,
      insecureLocal: options.insecureLocal,
      logger,
      batchView: { confbulk, deadLetters: dlq.deadLetters },
    });
    const closeOps = async (): Promise<void> => {
      await ops.close().finally(() => closeRedis(redis));
    };
    cleanups.push(closeOps);
    if (config.apiMetricsPort !== undefined) {
      const listener = await startWorkerHttp({
        port: config.apiMetricsPort,
        host: config.metricsHost,
        metrics,
        redis,
        queues: ops.queues.all,
      });
      cleanups.push(() => listener.close());
      logger.info({ url: listener.url }, '/metrics is served on its own listener');
    }
    app = await buildApp({
      config,
      confbulk,
      deadLetters: dlq.deadLetters,
      metrics,
      tokens,
      authenticator,
      logger,
      insecureLocal: options.insecureLocal,
      extraPlugins: [...ops.plugins, ...(options.extraPlugins ?? [])],
    });
    await app.listen({ host, port });
  } catch (err) {
    await app?.close().catch(() => {});
    await closeAll(cleanups).catch(() => {});
    throw err;
  }
  const listening = app;

  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'closing the API server');
    const watchdog = setTimeout(() => {
      logger.error(
        { timeoutMs: config.shutdownTimeoutMs },
        'the API server did not close in time; exiting',
      );
      process.exit(1);
    }, config.shutdownTimeoutMs + 1000);
    watchdog.unref();
    close().catch((err: unknown) => logger.error({ err }, 'closing the API server failed'));
  };
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      try {
        await listening.close();
      } finally {
        await closeAll(cleanups).finally(resolveClosed);
      }
    })();
    return closing;
  };
  if (options.handleSignals !== false) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  const address = listening.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { app: listening, url: `http://${shownHost}:${bound}`, closed, close };
}
