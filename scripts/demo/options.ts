/**
 * Options of the demo, their defaults, and the command line (`npm run demo -- --help`).
 */
import { parseArgs } from 'node:util';
import { parseRateLimit, type RateLimitSpec } from '../../src/config.js';
import { SID_PATTERN } from '../../src/jobs/participant-job.js';
import type { KeptDemo } from './keep.js';

export type ProgressStyle = 'auto' | 'bar' | 'lines' | 'none';

export interface DemoOptions {
  /** Participants of the mock conference. @defaultValue 1000 */
  participants?: number;
  /**
   * Rate limit of the demo's space. Lower than production's default so that the trouble
   * has something to slow down and the run lasts a few seconds. @defaultValue 250 per 1 s
   */
  rateLimit?: RateLimitSpec;
  /** Leavers, an outage, a 429 burst and two rejected participants. @defaultValue true */
  trouble?: boolean;
  /**
   * Run against the real space of `SIGNALWIRE_*` in `env`, on this conference, with no
   * mock. Without it the demo refuses to run when `SIGNALWIRE_*` is set.
   */
  conferenceSid?: string;
  /** Where `SIGNALWIRE_*`, `REDIS_URL`, `CONFBULK_*` are read. @defaultValue `process.env` */
  env?: NodeJS.ProcessEnv;
  /** Redis to use. @defaultValue `REDIS_URL` from `env`, else a private server (stopped at the end) */
  redisUrl?: string;
  /** BullMQ key prefix. @defaultValue `confbulk` on a private Redis, `confbulk-demo` on a shared one */
  prefix?: string;
  /** @defaultValue `auto`: a bar on a terminal, lines otherwise */
  progress?: ProgressStyle;
  /** Where the progress and the summary go. @defaultValue `process.stdout` */
  out?: NodeJS.WritableStream;
  /** Stops the run early (Ctrl-C); everything is still closed and the promise rejects. */
  signal?: AbortSignal;
  /**
   * Keep the run open after the summary (a worker, the API with the dashboard, the mock and
   * Redis) until `signal` aborts. @defaultValue false
   */
  keep?: boolean;
  /** Port of the kept API. @defaultValue 3000, or a free port when it is taken */
  apiPort?: number;
  /** Told the URLs and token of a kept run once it is open (tests). */
  onKept?: (kept: KeptDemo) => void;
}

export const DEMO_DEFAULTS = {
  participants: 1000,
  rateLimit: { count: 250, durationMs: 1000 } as RateLimitSpec,
  trouble: true,
  progress: 'auto' as ProgressStyle,
  /** Prefix on a Redis the demo did not start, to keep clear of real work. */
  sharedRedisPrefix: 'confbulk-demo',
};

export const USAGE = `Usage: npm run demo -- [options]

Mutes everyone except the host in a conference, through confbulk, and shows how it went.
With no configuration it runs against a mock API with a private Redis and leaves nothing
running. With SIGNALWIRE_* set it runs against that space, but only on the conference
named with --conference.

Options:
  --participants <n>       participants of the mock conference (1 to 100000; default 1000)
  --rate-limit <n/dur>     rate limit of the space, e.g. 250/1s (default 250/1s on the mock,
                           CONFBULK_RATE_LIMIT or 1200/1s on a real space)
  --no-trouble             no leavers, outage, 429s or rejected participants
  --conference <sid>       run on this conference of the real space (needs SIGNALWIRE_*)
  --progress <style>       auto, bar, lines or none (default auto)
  --keep                   after the summary, keep a worker, the API and dashboard, the mock
                           and Redis of the run open until Ctrl-C, and print how to reach them
  --api-port <port>        port of the kept API (default 3000, or a free one when taken)
  -h, --help               show this help`;

/** @throws TypeError naming the flag and what is allowed. */
function intFlag(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new TypeError(`--${name} must be a whole number from ${min} to ${max}; got '${text}'`);
  }
  return n;
}

/** Parses the demo's command line; `help` is true when usage was asked for. */
export function parseDemoArgs(argv: string[]): { help: boolean; options: DemoOptions } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      participants: { type: 'string' },
      'rate-limit': { type: 'string' },
      'no-trouble': { type: 'boolean', default: false },
      conference: { type: 'string' },
      progress: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'api-port': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const options: DemoOptions = {};
  if (values.participants !== undefined) {
    options.participants = intFlag('participants', values.participants, 1, 100_000);
  }
  if (values['rate-limit'] !== undefined) {
    options.rateLimit = parseRateLimit(values['rate-limit'], '--rate-limit');
  }
  if (values['no-trouble']) options.trouble = false;
  if (values.conference !== undefined) {
    if (!SID_PATTERN.test(values.conference)) {
      throw new TypeError(
        `--conference must be a conference SID (a UUID); got '${values.conference}'`,
      );
    }
    options.conferenceSid = values.conference;
  }
  if (values.progress !== undefined) {
    if (!['auto', 'bar', 'lines', 'none'].includes(values.progress)) {
      throw new TypeError(`--progress must be auto, bar, lines or none; got '${values.progress}'`);
    }
    options.progress = values.progress as ProgressStyle;
  }
  if (values.keep) options.keep = true;
  if (values['api-port'] !== undefined) {
    if (!values.keep) throw new TypeError('--api-port only applies with --keep');
    options.apiPort = intFlag('api-port', values['api-port'], 0, 65535);
  }
  return { help: values.help, options };
}
