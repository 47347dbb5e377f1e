/**
 * The HTTP listener of a worker process (`confbulk worker --metrics-port N`): `/metrics`,
 * `/healthz` and `/readyz`, nothing else, and no authentication, so bind it to loopback or
 * a private network only.
 */
import type { Queue } from 'bullmq';
import { fastify, type FastifyBaseLogger } from 'fastify';
import type { RedisConnection } from '../queues.js';
import type { Metrics } from '../metrics.js';
import { healthPlugin } from './health-plugin.js';
import { metricsPlugin } from './metrics-plugin.js';

export interface WorkerHttpOptions {
  /** TCP port; 0 picks a free one (see `WorkerHttp.port`). */
  port: number;
  /** Bind address. @defaultValue `127.0.0.1` (use `0.0.0.0` in a container) */
  host?: string;
  metrics: Metrics;
  /** Checked by `/readyz`. */
  redis: RedisConnection;
  /** Queues whose depths `/metrics` reports. @defaultValue none */
  queues?: Queue[];
  /** Errors of the listener are logged here. @defaultValue silent */
  logger?: FastifyBaseLogger;
}

export interface WorkerHttp {
  /** `http://host:port` */
  url: string;
  port: number;
  /** Stops listening. Idempotent. */
  close(): Promise<void>;
}

/** Starts the listener; resolves once it accepts connections. */
export async function startWorkerHttp(options: WorkerHttpOptions): Promise<WorkerHttp> {
  const host = options.host ?? '127.0.0.1';
  const app = options.logger
    ? fastify({ loggerInstance: options.logger, disableRequestLogging: true })
    : fastify({ logger: false });
  await app.register(metricsPlugin({ metrics: options.metrics, queues: options.queues ?? [] }));
  await app.register(healthPlugin({ redis: options.redis }));
  await app.listen({ port: options.port, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close() {
      closing ??= app.close().then(() => undefined);
      return closing;
    },
  };
}
