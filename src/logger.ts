/**
 * Structured logging with pino. Secrets are kept out two ways: redaction by path of the
 * places a credential can sit (authorization headers, tokens), and a last-line scrub of
 * every known secret value from each written line, so a token that reaches a log by an
 * unexpected path is still replaced.
 */
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Paths redacted in every log record. */
export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  'res.headers["set-cookie"]',
  'apiToken',
  'token',
  'password',
  '*.apiToken',
  '*.token',
  '*.password',
  '*.authorization',
  'space.apiToken',
  'config.spaces.*.apiToken',
];

export interface LoggerSetup {
  level?: string;
  /** Secret values to scrub from every line (API tokens, webhook secrets). */
  secrets?: string[];
  /** Where to write; default stdout. */
  destination?: DestinationStream;
  /** Bindings on every line, e.g. `{ service: 'worker' }` (`component` is for the modules' child loggers). */
  base?: Record<string, unknown>;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Creates the process logger. */
export function createLogger(setup: LoggerSetup = {}): Logger {
  const secrets = (setup.secrets ?? []).filter((s) => s.length >= 4);
  const scrub = secrets.length ? new RegExp(secrets.map(escapeRegExp).join('|'), 'g') : undefined;
  const options: LoggerOptions = {
    level: setup.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid, ...setup.base },
    hooks: scrub ? { streamWrite: (line: string) => line.replace(scrub, '[redacted]') } : {},
  };
  return setup.destination ? pino(options, setup.destination) : pino(options);
}

/** A logger that writes nothing (library default). */
export const silentLogger: Logger = pino({ level: 'silent' });
