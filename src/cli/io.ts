/**
 * Where the CLI reads and writes, injectable so that tests can run it in process.
 */
import { pino } from 'pino';
import { loadConfig, secretsOf, type ConfbulkConfig } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { requireRedis } from '../queues.js';

/** The part of a writable stream the CLI uses. */
export interface OutputStream {
  write(chunk: string): unknown;
  /** True on an interactive terminal: progress bars instead of progress lines. */
  isTTY?: boolean;
  /** Terminal width, when known. */
  columns?: number;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Environment the configuration is read from. @defaultValue `process.env` */
  env: NodeJS.ProcessEnv;
  /** Stops waiting for a batch when aborted (the batch itself goes on). */
  signal?: AbortSignal;
  /** Ctrl-C stops waiting for a batch (the real process only). @defaultValue false */
  handleSigint?: boolean;
}

/** The real process streams and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, handleSigint: true };
}

/**
 * A signal that aborts when `io.signal` does or, for the real process, on Ctrl-C while
 * the scope lasts. Outside such scopes Ctrl-C keeps its default: it ends the process.
 */
export function interruptScope(io: CliIo): { signal: AbortSignal | undefined; release(): void } {
  if (!io.handleSigint) return { signal: io.signal, release: () => {} };
  const interrupt = new AbortController();
  const onSigint = (): void => interrupt.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  return {
    signal: io.signal ? AbortSignal.any([io.signal, interrupt.signal]) : interrupt.signal,
    release: () => void process.off('SIGINT', onSigint),
  };
}

/** Exit codes of every command. */
export const EXIT = {
  /** Completed with no dead letters, or the command succeeded. */
  ok: 0,
  /** The batch had dead letters or failed, waiting timed out, or the thing asked for does not exist. */
  failed: 1,
  /** Invalid input or configuration; nothing was enqueued. */
  invalid: 2,
  /** Interrupted (Ctrl-C) while waiting; the batch goes on. */
  interrupted: 130,
} as const;

/**
 * Per-run context of a command: the configuration (read once, on first use), a logger on
 * stderr and the exit code the command decided on.
 */
export class CliContext {
  exitCode: number = EXIT.ok;
  private config: ConfbulkConfig | undefined;
  private logger: Logger | undefined;

  constructor(readonly io: CliIo) {}

  /** The configuration from the environment. @throws ConfigError */
  getConfig(): ConfbulkConfig {
    this.config ??= loadConfig(this.io.env);
    return this.config;
  }

  /** The configuration, requiring a Redis URL. @throws ConfigError naming REDIS_URL */
  getRedisConfig(): ConfbulkConfig {
    return requireRedis(
      this.getConfig(),
      'set it to the Redis server confbulk uses (e.g. redis://127.0.0.1:6379), ' +
        'or give redisUrl in the CONFBULK_CONFIG file (REDIS_CLUSTER_NODES for a Redis Cluster)',
    );
  }

  /** JSON lines on stderr at the configured level (warn unless LOG_LEVEL says otherwise). */
  getLogger(base: Record<string, unknown> = {}): Logger {
    if (!this.logger) {
      const config = this.getConfig();
      const stderr = this.io.stderr;
      this.logger = createLogger({
        level: this.io.env.LOG_LEVEL ?? 'warn',
        secrets: secretsOf(config),
        destination:
          stderr === process.stderr
            ? pino.destination(2)
            : { write: (s: string) => stderr.write(s) },
        base,
      });
    }
    return this.logger;
  }

  /** Writes a line to stdout. */
  out(line: string): void {
    this.io.stdout.write(`${line}\n`);
  }

  /** Writes a line to stderr. */
  err(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /** Writes a value as pretty JSON to stdout. */
  json(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}
