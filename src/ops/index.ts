/**
 * Operations: Prometheus metrics, health and readiness, the queue dashboard, and the
 * small HTTP listener of worker processes. See docs/operations.md.
 */
export { metricsPlugin, refreshQueueGauges, type MetricsPluginOptions } from './metrics-plugin.js';
export {
  healthPlugin,
  checkReadiness,
  cachedReadiness,
  type HealthPluginOptions,
  type ReadinessReport,
} from './health-plugin.js';
export {
  dashboardPlugin,
  dashboardPrincipal,
  type DashboardPluginOptions,
  type LoginRateLimit,
} from './dashboard/plugin.js';
export { SESSION_COOKIE } from './dashboard/session.js';
export {
  openOpsQueues,
  workersRegisteredOn,
  type OpsQueues,
  type OpsQueuesOptions,
} from './queues.js';
export { apiOps, type ApiOps, type ApiOpsOptions } from './api-plugins.js';
export { startWorkerHttp, type WorkerHttp, type WorkerHttpOptions } from './worker-http.js';
