/**
 * Entry point of a worker process:
 *   node --import tsx workers/worker.ts [--concurrency N] [--metrics-port N]
 *   node dist/workers/worker.js ...
 * Configuration comes from the environment (REDIS_URL, SIGNALWIRE_*, CONFBULK_*; see
 * src/config.ts); flags win over it.
 */
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { runWorkerProcess } from '../src/worker/process.js';

function wholeNumber(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

interface Flags {
  concurrency?: number;
  metricsPort?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

async function main(): Promise<void> {
  const program = new Command('confbulk-worker')
    .description(
      'Processes confbulk jobs (participant updates, fan-outs, schedules) until SIGTERM or SIGINT.',
    )
    .option(
      '--concurrency <n>',
      'participant updates in flight per space (default: CONFBULK_CONCURRENCY or 100)',
      wholeNumber('--concurrency', 1, 5000),
    )
    .option(
      '--metrics-port <port>',
      'serve /metrics, /healthz and /readyz on this port (default: CONFBULK_METRICS_PORT, else none)',
      wholeNumber('--metrics-port', 0, 65535),
    )
    .option(
      '--lock-duration-ms <ms>',
      "lock of a job in progress; a dead worker's jobs return after it (default 30000)",
      wholeNumber('--lock-duration-ms', 1000, 600_000),
    )
    .option(
      '--stalled-interval-ms <ms>',
      'how often to look for jobs of dead workers (default 15000)',
      wholeNumber('--stalled-interval-ms', 500, 600_000),
    )
    .allowExcessArguments(false)
    .showHelpAfterError()
    .parse();
  const flags = program.opts<Flags>();
  const config = loadConfig(
    process.env,
    flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {},
  );
  await runWorkerProcess({
    config,
    ...(flags.metricsPort !== undefined && { metricsPort: flags.metricsPort }),
    stalled: {
      ...(flags.lockDurationMs !== undefined && { lockDurationMs: flags.lockDurationMs }),
      ...(flags.stalledIntervalMs !== undefined && { stalledIntervalMs: flags.stalledIntervalMs }),
    },
  });
}

// Exit 2 for configuration that cannot be used (like the CLI), 1 for anything else.
main().catch((err: unknown) => {
  console.error(`confbulk worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
