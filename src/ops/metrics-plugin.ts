/**
 * `GET /metrics`: the process's prom-client registry in Prometheus text format. Queue
 * depths (`confbulk_queue_jobs{queue,state}`) are read from Redis on each scrape, so they
 * are as fresh as the scrape and cost nothing between scrapes.
 */
import type { Queue } from 'bullmq';
// For the OpenAPI fields of `schema` (summary, tags).
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../metrics.js';
// For `config.access` (the API's access hook).
import type {} from '../http/access.js';

export interface MetricsPluginOptions {
  metrics: Metrics;
  /** Queues whose job counts feed `confbulk_queue_jobs` on every scrape. */
  queues?: Queue[];
  /** Route path. @defaultValue `/metrics` */
  path?: string;
}

/** Sets `queueJobs` from each queue's `getJobCounts()`. A queue that fails keeps its last values. */
export async function refreshQueueGauges(metrics: Metrics, queues: Queue[]): Promise<void> {
  await Promise.all(
    queues.map(async (queue) => {
      const counts = await queue.getJobCounts().catch(() => undefined);
      for (const [state, count] of Object.entries(counts ?? {})) {
        metrics.queueJobs.set({ queue: queue.name, state }, count);
      }
    }),
  );
}

/** How `/metrics` appears in the OpenAPI document. */
const METRICS_SCHEMA = {
  summary: 'Prometheus metrics (text exposition format)',
  description:
    'Counters of requests and outcomes, rate-limiter waits, circuit states and queue depths ' +
    '(confbulk_queue_jobs{queue,state}, read on each scrape). On the API it needs ' +
    'CONFBULK_METRICS_TOKEN or a token of every space (or CONFBULK_API_METRICS_PORT serves it ' +
    'on a listener of its own). See docs/operations.md.',
  tags: ['operations'],
  security: [{ bearerAuth: [] }],
};

/** A fastify plugin serving the registry; register it with `app.register(metricsPlugin(...))`. */
export function metricsPlugin(options: MetricsPluginOptions): FastifyPluginAsync {
  const { metrics, queues = [], path = '/metrics' } = options;
  return async (app) => {
    // On the API, `metrics`: the metrics token or a token of every space. The worker's own
    // listener has no access hook and serves it open (bind it to a private address).
    app.get(
      path,
      { config: { access: 'metrics' }, schema: METRICS_SCHEMA },
      async (_request, reply) => {
        await refreshQueueGauges(metrics, queues);
        const body = await metrics.registry.metrics();
        return reply.type(metrics.registry.contentType).send(body);
      },
    );
  };
}
