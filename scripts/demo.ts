/**
 * `npm run demo`: "mute everyone except the host" through confbulk, end to end.
 *
 * With no configuration: a private Redis, the mock API with a 1,000-participant conference
 * and realistic trouble, a worker stack in this process, the batch through the library with
 * a live progress view, a summary, a check of the mock's final state, and nothing left
 * running. With `SIGNALWIRE_*` set it runs against that space, but only on a conference
 * named with `--conference` (it refuses otherwise), with no mock and no trouble.
 *
 * `runDemo()` is the same run as a function (tests call it); see DemoOptions.
 */
import { pathToFileURL } from 'node:url';
import type { ConfbulkConfig } from '../src/config.js';
import { ConfbulkError } from '../src/errors.js';
import { createMetrics } from '../src/metrics.js';
import { createRedis } from '../src/queues.js';
import { provisionRedis } from './redis.js';
import { runMockDemo, runRealDemo, type DemoContext } from './demo/run.js';
import { DEMO_DEFAULTS, USAGE, parseDemoArgs, type DemoOptions } from './demo/options.js';
import { keepOpen } from './demo/keep.js';
import { formatSummary, type DemoSummary } from './demo/summary.js';

export type { DemoOptions } from './demo/options.js';
export type { DemoSummary } from './demo/summary.js';

/** The demo would touch a real space without being told which conference. */
export class DemoRefusedError extends ConfbulkError {}

const REAL_SPACE_VARS = ['SIGNALWIRE_SPACE_URL', 'SIGNALWIRE_PROJECT_ID', 'SIGNALWIRE_API_TOKEN'];

function realSpaceConfigured(env: NodeJS.ProcessEnv): boolean {
  return REAL_SPACE_VARS.some((name) => Boolean(env[name]));
}

function checkMode(options: DemoOptions, env: NodeJS.ProcessEnv): 'mock' | 'real' {
  const real = realSpaceConfigured(env);
  if (real && !options.conferenceSid) {
    throw new DemoRefusedError(
      'SIGNALWIRE_* is set, and the demo mutes everyone in a conference: it will not pick one in a ' +
        'real space by itself. Name the conference (`npm run demo -- --conference <ConferenceSid>`), ' +
        'or unset SIGNALWIRE_SPACE_URL, SIGNALWIRE_PROJECT_ID and SIGNALWIRE_API_TOKEN to run against the mock.',
    );
  }
  if (!real && options.conferenceSid) {
    throw new DemoRefusedError(
      '--conference runs against a real space: set SIGNALWIRE_SPACE_URL, SIGNALWIRE_PROJECT_ID and ' +
        'SIGNALWIRE_API_TOKEN, or drop --conference to run against the mock.',
    );
  }
  return real ? 'real' : 'mock';
}

/** Where to look next, after the summary. */
function nextSteps(config: ConfbulkConfig, privateRedis: boolean): string {
  const env = privateRedis
    ? 'REDIS_URL=<url> '
    : `REDIS_URL=${config.redisUrl} ${config.prefix === 'confbulk' ? '' : `CONFBULK_PREFIX='${config.prefix}' `}`;
  const lines = [
    'Where to look next:',
    '  keep it open   npm run demo -- --keep (the API, dashboard and CLI on this run until Ctrl-C)',
    `  dashboard      ${env}CONFBULK_API_TOKEN=<token> npx confbulk api, then open http://127.0.0.1:3000/admin`,
    `  dead letters   ${env}npx confbulk dlq list`,
    '  metrics        npx confbulk worker --metrics-port 9464, then http://127.0.0.1:9464/metrics',
    '  operations     docs/operations.md',
  ];
  if (privateRedis) {
    lines.push(
      "  (this run's private Redis is gone; to keep its queues, start one with `npm run redis`",
      '   and run the demo with REDIS_URL set)',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Runs the demo described at the top of this file and returns its summary. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const env = options.env ?? process.env;
  const out = options.out ?? process.stdout;
  const mode = checkMode(options, env);
  const url = options.redisUrl ?? env.REDIS_URL;
  const redis = await provisionRedis({
    ...(url ? { url } : { forcePrivate: true }),
    log: (msg) => void out.write(`[redis] ${msg}\n`),
  });
  const prefix =
    options.prefix ??
    env.CONFBULK_PREFIX ??
    (redis.owned ? 'confbulk' : DEMO_DEFAULTS.sharedRedisPrefix);
  const connection = createRedis(redis.url);
  const ctx: DemoContext = {
    options,
    env,
    out,
    redisUrl: redis.url,
    prefix,
    connection,
    metrics: createMetrics(),
    finish: async (summary, config) => {
      out.write(formatSummary(summary));
      if (!options.keep) {
        out.write(`\n${nextSteps(config, redis.owned)}`);
        return;
      }
      await keepOpen({
        config,
        connection,
        metrics: ctx.metrics,
        summary,
        mock: mode === 'mock',
        out,
        signal: options.signal,
        ...(options.apiPort !== undefined && { apiPort: options.apiPort }),
        ...(options.onKept && { onKept: options.onKept }),
      });
    },
  };
  try {
    const { summary } =
      mode === 'mock'
        ? await runMockDemo(ctx)
        : await runRealDemo(ctx, options.conferenceSid as string);
    return summary;
  } finally {
    await connection.quit().catch(() => connection.disconnect());
    await redis.stop();
  }
}

async function main(): Promise<void> {
  const { help, options } = parseDemoArgs(process.argv.slice(2));
  if (help) {
    console.log(USAGE);
    return;
  }
  // Ctrl-C stops the run but still closes everything and stops the private Redis; a
  // second one exits at once.
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted.signal.aborted) process.exit(130);
    console.error(`demo: ${signal}: cleaning up (press Ctrl-C again to exit at once)`);
    interrupted.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await runDemo({ ...options, signal: interrupted.signal });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.exitCode = summary.verified ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(/^interrupted by /.test((err as Error).message) ? 130 : 2);
  });
}
