/**
 * Prometheus metrics (prom-client). One registry per process; the worker pipeline, the
 * producers and the HTTP API record into it, and `/metrics` serves it.
 */
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  /** API requests by space, HTTP status class (`2xx`, `4xx`, `5xx`, `network`) and outcome. */
  requests: Counter<'space' | 'status_class' | 'outcome'>;
  /** API request latency. */
  requestDuration: Histogram<'space'>;
  /** Time a job waited for a rate-limit permit. */
  rateLimitWait: Histogram<'space'>;
  /** 429 answers received. */
  rateLimited: Counter<'space'>;
  /** Current margin of a space's rate limiter in ms (widens after unexplained 429s). */
  rateLimitMargin: Gauge<'space'>;
  /** Times a space's margin was widened by a 429 its own counts could not explain. */
  rateLimitMarginWidened: Counter<'space'>;
  /** Retries by layer: `quick` (in process) or `queue` (BullMQ backoff). */
  retries: Counter<'space' | 'layer'>;
  /** Circuit state per space: 0 closed, 1 half-open, 2 open, 3 paused (401/403). */
  circuitState: Gauge<'space'>;
  /** Jobs by queue and state, refreshed on scrape. */
  queueJobs: Gauge<'queue' | 'state'>;
  /** Terminal outcomes of participant jobs. */
  jobOutcomes: Counter<'space' | 'outcome'>;
  /** Time from batch creation to its completion. */
  batchDuration: Histogram<'action' | 'state'>;
}

/** Creates a registry with confbulk's metric families (and Node's defaults when asked). */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'confbulk_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'confbulk_api_requests_total',
      help: 'Compatibility API requests by space, status class and outcome',
      labelNames: ['space', 'status_class', 'outcome'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'confbulk_api_request_duration_seconds',
      help: 'Compatibility API request latency',
      labelNames: ['space'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    rateLimitWait: new Histogram({
      name: 'confbulk_rate_limit_wait_seconds',
      help: 'Time a participant update waited for a rate-limit permit',
      labelNames: ['space'],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers,
    }),
    rateLimited: new Counter({
      name: 'confbulk_api_rate_limited_total',
      help: '429 answers received from the Compatibility API',
      labelNames: ['space'],
      registers,
    }),
    rateLimitMargin: new Gauge({
      name: 'confbulk_rate_limit_margin_ms',
      help: 'Margin of the rate limiter (ms): a request starts only if fewer than count started in the last window + margin',
      labelNames: ['space'],
      registers,
    }),
    rateLimitMarginWidened: new Counter({
      name: 'confbulk_rate_limit_margin_widened_total',
      help: '429s answered while the space kept to its limit by its own counts, each widening its margin',
      labelNames: ['space'],
      registers,
    }),
    retries: new Counter({
      name: 'confbulk_retries_total',
      help: 'Retries of transient failures by layer (quick = in process, queue = BullMQ backoff)',
      labelNames: ['space', 'layer'],
      registers,
    }),
    circuitState: new Gauge({
      name: 'confbulk_circuit_state',
      help: 'Circuit state per space: 0 closed, 1 half-open, 2 open, 3 paused (credentials)',
      labelNames: ['space'],
      registers,
    }),
    queueJobs: new Gauge({
      name: 'confbulk_queue_jobs',
      help: 'Jobs by queue and state',
      labelNames: ['queue', 'state'],
      registers,
    }),
    jobOutcomes: new Counter({
      name: 'confbulk_participant_jobs_total',
      help: 'Terminal outcomes of participant jobs',
      labelNames: ['space', 'outcome'],
      registers,
    }),
    batchDuration: new Histogram({
      name: 'confbulk_batch_duration_seconds',
      help: 'Time from batch creation to its end',
      labelNames: ['action', 'state'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    }),
  };
}
