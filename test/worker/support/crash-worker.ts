/**
 * A worker process that kills itself (SIGKILL) at the worst moment of its first finished
 * job: after the request got a 2xx (and, for an announcement, its send record says so),
 * before the outcome is written. The same parts as `workers/worker.ts` (producer hooks,
 * fan-out, runtime); only `onOutcome` is replaced by the crash.
 *   node --import tsx test/worker/support/crash-worker.ts   (configured by the environment)
 */
import { loadConfig } from '../../../src/config.js';
import { ParticipantQueues } from '../../../src/jobs/enqueue.js';
import { createLogger } from '../../../src/logger.js';
import { createMetrics } from '../../../src/metrics.js';
import { batchWorkerParts } from '../../../src/worker/parts.js';
import { createRedis } from '../../../src/queues.js';
import { SignalWireClients } from '../../../src/signalwire/clients.js';
import { startWorkerRuntime } from '../../../src/worker/runtime.js';

const config = loadConfig(process.env);
const connection = createRedis(config);
const logger = createLogger({ level: 'info', base: { component: 'crash-worker' } });
const metrics = createMetrics();
const clients = new SignalWireClients(config, { logger });
const queues = new ParticipantQueues({ connection, prefix: config.prefix, retry: config.retry });
const stalled = { lockDurationMs: 2000, stalledIntervalMs: 1000 };
const parts = await batchWorkerParts({
  config,
  connection,
  logger,
  metrics,
  clients,
  queues,
  lockDurationMs: stalled.lockDurationMs,
});
await startWorkerRuntime({
  config,
  connection,
  logger,
  metrics,
  clients,
  hooks: {
    ...parts.hooks,
    onOutcome: async () => {
      console.log('crashing between the 2xx and the outcome write');
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
    },
  },
  extraWorkers: parts.workers,
  stalled,
});
logger.info('worker ready');
