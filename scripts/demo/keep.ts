/**
 * `npm run demo -- --keep`: after the summary, the demo's run stays open until Ctrl-C so the
 * user can look at it where they would next: a worker stack, the HTTP API with the
 * dashboard (on a fresh token), the mock and Redis, and the `export` lines that point the
 * CLI at them from another terminal.
 */
import { randomBytes } from 'node:crypto';
import type { ConfbulkConfig } from '../../src/config.js';
import { startApiServer, type ApiServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import type { Metrics } from '../../src/metrics.js';
import { startWorkerStack } from '../../src/worker/stack.js';
import type { RedisConnection } from '../../src/queues.js';
import type { DemoSummary } from './summary.js';

/** What a kept run offers, for the caller (tests) to use while it is open. */
export interface KeptDemo {
  batchId: string;
  apiUrl: string;
  dashboardUrl: string;
  apiToken: string;
  /** `export NAME='value'` lines for the CLI. */
  exports: string[];
}

export interface KeepOptions {
  config: ConfbulkConfig;
  connection: RedisConnection;
  metrics: Metrics;
  summary: DemoSummary;
  /** The space is the demo's mock: its credentials may be printed. */
  mock: boolean;
  out: NodeJS.WritableStream;
  /** Ends the kept run (Ctrl-C). */
  signal: AbortSignal | undefined;
  /** Port of the API. @defaultValue 3000, or any free port when 3000 is taken */
  apiPort?: number;
  onKept?: (kept: KeptDemo) => void;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

async function listen(config: ConfbulkConfig, port: number | undefined): Promise<ApiServer> {
  const start = (p: number): Promise<ApiServer> =>
    startApiServer({
      config,
      host: '127.0.0.1',
      port: p,
      logger: silentLogger,
      handleSignals: false,
    });
  if (port !== undefined) return start(port);
  try {
    return await start(3000);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return start(0);
  }
}

/** Keeps the run open as described above until `signal` aborts. */
export async function keepOpen(options: KeepOptions): Promise<void> {
  const apiToken = randomBytes(16).toString('hex');
  const config: ConfbulkConfig = { ...options.config, apiToken };
  const workers = await startWorkerStack({
    config,
    connection: options.connection,
    metrics: options.metrics,
  });
  try {
    const api = await listen(config, options.apiPort);
    try {
      const space = config.spaces.get('default');
      const exports = [
        `export REDIS_URL=${shellQuote(config.redisUrl ?? '')}`,
        `export CONFBULK_PREFIX=${shellQuote(config.prefix)}`,
        `export CONFBULK_API_TOKEN=${apiToken}`,
        ...(space && options.mock
          ? [
              `export SIGNALWIRE_SPACE_URL=${shellQuote(space.spaceUrl)}`,
              `export SIGNALWIRE_PROJECT_ID=${shellQuote(space.projectId)}`,
              `export SIGNALWIRE_API_TOKEN=${shellQuote(space.apiToken)}`,
            ]
          : [
              '# and SIGNALWIRE_SPACE_URL, SIGNALWIRE_PROJECT_ID, SIGNALWIRE_API_TOKEN as for the demo',
            ]),
      ];
      const kept: KeptDemo = {
        batchId: options.summary.batchId,
        apiUrl: api.url,
        dashboardUrl: `${api.url}/admin`,
        apiToken,
        exports,
      };
      const id = options.summary.batchId;
      options.out.write(
        [
          '',
          'Kept open until Ctrl-C (a worker, the API, the mock and Redis of this run):',
          `  dashboard   ${kept.dashboardUrl}  (log in with the token ${apiToken})`,
          `  the batch   curl -H 'Authorization: Bearer ${apiToken}' ${api.url}/v1/batches/${id}`,
          '  the CLI, from another terminal:',
          ...exports.map((line) => `    ${line}`),
          `    npx confbulk status ${id}`,
          `    npx confbulk dlq list --batch ${id}`,
          '',
        ].join('\n'),
      );
      options.onKept?.(kept);
      await new Promise<void>((resolve) => {
        if (!options.signal || options.signal.aborted) return resolve();
        options.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      await api.close();
    }
  } finally {
    await workers.close();
  }
}
