/**
 * The mock as a standalone process: starts it, creates one account (given credentials, or
 * fresh ones) and optionally one conference, prints what a client needs to reach it as
 * `export` lines a shell can paste or `eval`, and stops on SIGINT/SIGTERM. `confbulk mock` calls `runMockCli`; `tsx src/mock/main.ts --help` runs
 * it directly.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseRateLimit, type RateLimitSpec } from '../config.js';
import { ConfigError, ValidationError } from '../errors.js';
import type { MockAccount, MockConference } from './control.js';
import { CONTROL_PREFIX, type MockOptions } from './options.js';
import { startMock, type MockServer } from './server.js';

/** The answers a running mock can be started with. */
export type MockAnswers = Pick<
  MockOptions,
  'retryAfter' | 'rateLimitReset' | 'headersOn429' | 'leavers' | 'updateAnswerStatus'
>;

/** `--leavers`: SignalWire's documented answers, or Twilio's 404s. */
export const LEAVER_MODES: Record<string, MockOptions['leavers']> = {
  signalwire: { update: 422, retrieve: 200 },
  twilio: { update: 404, retrieve: 404 },
};

export interface MockCliOptions {
  /** 0 picks a free port. */
  port: number;
  host: string;
  /** Participants of a conference created at start; no conference when unset. */
  participants?: number;
  /** Friendly name of that conference. @defaultValue `mock-conference-1` */
  friendlyName?: string;
  /** Project id of the account, to keep credentials across restarts. @defaultValue a random UUID */
  accountSid?: string;
  /** API token of the account. @defaultValue a random token */
  token?: string;
  /** POST limit per account; `null` disables it. @defaultValue 13800 per 10 s */
  rateLimit?: RateLimitSpec | null;
  /**
   * How the mock answers what SignalWire does not document (see MockOptions).
   * @defaultValue SignalWire's documented answers
   */
  answers?: MockAnswers;
  /** Where the lines go. @defaultValue standard output */
  write?: (line: string) => void;
}

export interface RunningMock {
  mock: MockServer;
  account: MockAccount;
  conference: MockConference | undefined;
  /** Resolves once the mock stopped, by signal or by `stop()`. */
  stopped: Promise<void>;
  /** Stops the mock and removes the signal handlers. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the mock for a human or a script, as described at the top of this file. */
export async function runMockCli(opts: MockCliOptions): Promise<RunningMock> {
  const write = opts.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const mock = await startMock({
    port: opts.port,
    host: opts.host,
    ...(opts.rateLimit === undefined ? {} : { rateLimit: opts.rateLimit }),
    ...opts.answers,
  });
  const account = mock.createAccount({
    ...(opts.accountSid !== undefined && { accountSid: opts.accountSid }),
    ...(opts.token !== undefined && { token: opts.token }),
  });
  const conference =
    opts.participants === undefined
      ? undefined
      : mock.createConference(account.accountSid, {
          participants: opts.participants,
          ...(opts.friendlyName === undefined ? {} : { friendlyName: opts.friendlyName }),
        });

  write(`# Mock SignalWire Compatibility API listening at ${mock.url}`);
  write(`export SIGNALWIRE_SPACE_URL=${mock.url}`);
  write(`export SIGNALWIRE_PROJECT_ID=${account.accountSid}`);
  write(`export SIGNALWIRE_API_TOKEN=${account.token}`);
  if (conference) {
    write(`export CONFERENCE_SID=${conference.sid}`);
    write(`# its first participant (e.g. for --except): ${conference.callSids[0] ?? '-'}`);
    write(`# every call SID: npx confbulk mock calls ${conference.sid}`);
  }
  write(`# control API at ${mock.url}${CONTROL_PREFIX} (docs/mock.md); Ctrl-C stops`);

  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const onSignal = (): void => void stop();
  const stop = async (): Promise<void> => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await mock.stop();
    resolveStopped();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { mock, account, conference, stopped, stop };
}

/** The participants of a conference of a running mock, through its control API. */
export async function listMockCalls(
  mockUrl: string,
  conferenceSid: string,
): Promise<{ callSid: string; muted: boolean; hold: boolean }[]> {
  const base = mockUrl.replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetch(
      `${base}${CONTROL_PREFIX}/conferences/${encodeURIComponent(conferenceSid)}/participants`,
    );
  } catch (err) {
    throw new ConfigError(
      `no mock answers at ${base} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}): is confbulk mock running there?`,
      'url',
    );
  }
  if (res.status === 404) {
    throw new ValidationError(
      `the mock at ${base} has no conference ${conferenceSid}`,
      'conferenceSid',
    );
  }
  if (!res.ok) throw new Error(`the mock at ${base} answered ${res.status}`);
  const body = (await res.json()) as {
    participants: { callSid: string; muted: boolean; hold: boolean }[];
  };
  return body.participants.map(({ callSid, muted, hold }) => ({ callSid, muted, hold }));
}

const USAGE = `Usage: tsx src/mock/main.ts [--port N] [--host H] [--participants N]
       [--friendly-name NAME] [--rate-limit COUNT/DURATION|none]
       [--retry-after none|seconds|http-date] [--leavers signalwire|twilio]`;

function parseCommandLine(argv: string[]): MockCliOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      participants: { type: 'string' },
      'friendly-name': { type: 'string' },
      'rate-limit': { type: 'string' },
      'retry-after': { type: 'string' },
      leavers: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const limit = values['rate-limit'];
  const leavers = values.leavers;
  if (leavers !== undefined && !(leavers in LEAVER_MODES)) {
    throw new TypeError(`--leavers must be signalwire or twilio; got '${leavers}'`);
  }
  const answers: MockAnswers = {
    ...(values['retry-after'] && {
      retryAfter: values['retry-after'] as MockOptions['retryAfter'],
    }),
    ...(leavers !== undefined && { leavers: LEAVER_MODES[leavers] }),
  };
  return {
    answers,
    port: Number(values.port),
    host: values.host,
    ...(values.participants === undefined ? {} : { participants: Number(values.participants) }),
    ...(values['friendly-name'] === undefined ? {} : { friendlyName: values['friendly-name'] }),
    ...(limit === undefined
      ? {}
      : { rateLimit: limit === 'none' ? null : parseRateLimit(limit, '--rate-limit') }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  Promise.resolve()
    .then(() => runMockCli(parseCommandLine(process.argv.slice(2))))
    .catch((err: unknown) => {
      console.error((err as Error).message);
      process.exit(2);
    });
}
