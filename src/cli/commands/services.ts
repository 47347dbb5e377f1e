/**
 * Long-running processes: `confbulk worker`, `confbulk api` and `confbulk mock`. Each runs
 * until SIGTERM or Ctrl-C and then shuts down gracefully.
 */
import { Option, type Command } from 'commander';
import { parseRateLimit, secretsOf, type RateLimitSpec } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import type { CliContext } from '../io.js';
import { intParser, parsePort } from '../options.js';

function registerWorker(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description(
      'run a worker process: fan-outs, participant updates, schedules (until SIGTERM or Ctrl-C)',
    )
    .addOption(
      new Option(
        '--concurrency <n>',
        'participant updates in flight in this process (1 to 5000; default CONFBULK_CONCURRENCY or 100)',
      ).argParser(intParser(1, 5000)),
    )
    .addOption(
      new Option(
        '--metrics-port <port>',
        'serve /metrics, /healthz and /readyz on this port (default CONFBULK_METRICS_PORT; none when unset)',
      ).argParser(parsePort),
    )
    .action(async (flags: { concurrency?: number; metricsPort?: number }) => {
      const config = ctx.getRedisConfig();
      const logger = createLogger({
        level: config.logLevel,
        secrets: secretsOf(config),
        base: { service: 'worker' },
      });
      const { runWorkerProcess } = await import('../../worker/process.js');
      await runWorkerProcess({
        config,
        concurrency: flags.concurrency,
        metricsPort: flags.metricsPort,
        logger,
      });
    });
}

function registerApi(program: Command, ctx: CliContext): void {
  program
    .command('api')
    .description('run the HTTP API (needs CONFBULK_API_TOKEN; until SIGTERM or Ctrl-C)')
    .addOption(
      new Option(
        '--port <port>',
        'port to listen on (0 = any free port; default CONFBULK_API_PORT or 3000)',
      ).argParser(parsePort),
    )
    .option('--host <host>', 'address to bind (default CONFBULK_API_HOST or 127.0.0.1)')
    .option(
      '--insecure-local',
      'serve without a bearer token; allowed only on a loopback host (development)',
    )
    .action(async (flags: { port?: number; host?: string; insecureLocal?: boolean }) => {
      const config = ctx.getRedisConfig();
      if (flags.insecureLocal && config.apiToken) {
        throw new ConfigError(
          '--insecure-local does nothing while CONFBULK_API_TOKEN is set (the API asks for the token): ' +
            'drop the flag, or unset the token for an open local API',
          'CONFBULK_API_TOKEN',
        );
      }
      const { startApiServer } = await import('../../http/server.js');
      const server = await startApiServer({
        config,
        port: flags.port,
        host: flags.host,
        insecureLocal: flags.insecureLocal === true,
        logger: createLogger({
          level: config.logLevel,
          secrets: secretsOf(config),
          base: { service: 'api' },
        }),
      });
      ctx.err(
        `confbulk API listening at ${server.url} (OpenAPI document at ${server.url}/openapi.json)`,
      );
      await server.closed;
    });
}

function parseMockRateLimit(value: string): RateLimitSpec | null {
  return value === 'none' ? null : parseRateLimit(value, '--rate-limit');
}

function registerMock(program: Command, ctx: CliContext): void {
  const mock = program
    .command('mock')
    .description(
      'run a mock SignalWire Compatibility API for development and demos (no Redis needed); ' +
        'prints export lines for the shell (docs/mock.md)',
    )
    .option(
      '--account-sid <sid>',
      'project id of the mock account, to keep credentials across restarts (default: a new UUID)',
    )
    .option('--token <token>', 'API token of the mock account (default: a new random token)')
    .addOption(
      new Option('--port <port>', 'port to listen on (0 = any free port)')
        .argParser(parsePort)
        .default(0),
    )
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .addOption(
      new Option(
        '--participants <n>',
        'create one in-progress conference with this many participants (1 to 100000)',
      ).argParser(intParser(1, 100_000)),
    )
    .option(
      '--friendly-name <name>',
      'friendly name of that conference (default mock-conference-1)',
    )
    .addOption(
      new Option(
        '--rate-limit <count/duration>',
        "POST limit per account, e.g. 13800/10s, or 'none' (default 13800/10s)",
      ).argParser(parseMockRateLimit),
    )
    .addOption(
      new Option(
        '--retry-after <form>',
        'Retry-After of 429s, which SignalWire does not document (default none)',
      ).choices(['none', 'seconds', 'http-date']),
    )
    .addOption(
      new Option(
        '--leavers <way>',
        "answers for participants who left: SignalWire's 422 (10000) and a completed GET, or Twilio's 404s (default signalwire)",
      ).choices(['signalwire', 'twilio']),
    )
    .action(
      async (flags: {
        port: number;
        host: string;
        accountSid?: string;
        token?: string;
        participants?: number;
        friendlyName?: string;
        rateLimit?: RateLimitSpec | null;
        retryAfter?: 'none' | 'seconds' | 'http-date';
        leavers?: 'signalwire' | 'twilio';
      }) => {
        const { runMockCli, LEAVER_MODES } = await import('../../mock/main.js');
        const running = await runMockCli({
          port: flags.port,
          host: flags.host,
          ...(flags.accountSid !== undefined && { accountSid: flags.accountSid }),
          ...(flags.token !== undefined && { token: flags.token }),
          participants: flags.participants,
          friendlyName: flags.friendlyName,
          ...(flags.rateLimit !== undefined && { rateLimit: flags.rateLimit }),
          answers: {
            ...(flags.retryAfter && { retryAfter: flags.retryAfter }),
            ...(flags.leavers && { leavers: LEAVER_MODES[flags.leavers] }),
          },
          write: (line) => ctx.out(line),
        });
        await running.stopped;
      },
    );
  mock
    .command('calls')
    .description(
      "list a mock conference's participants: call SID, muted, on hold (for --except, --call)",
    )
    .argument('<conferenceSid>', 'the conference, as printed by confbulk mock (CONFERENCE_SID)')
    .option('--url <url>', 'where the mock listens (default SIGNALWIRE_SPACE_URL)')
    .option('--json', 'print the participants as JSON')
    .action(async (conferenceSid: string, flags: { url?: string; json?: boolean }) => {
      const url = flags.url ?? ctx.io.env.SIGNALWIRE_SPACE_URL;
      if (!url) {
        throw new ConfigError(
          'give --url or set SIGNALWIRE_SPACE_URL to the mock (as printed by confbulk mock)',
          'url',
        );
      }
      const { listMockCalls } = await import('../../mock/main.js');
      const participants = await listMockCalls(url, conferenceSid);
      if (flags.json) {
        ctx.json(participants);
        return;
      }
      for (const p of participants) ctx.out(`${p.callSid}  muted=${p.muted}  hold=${p.hold}`);
    });
}

/** Adds `worker`, `api` and `mock`. */
export function registerServiceCommands(program: Command, ctx: CliContext): void {
  registerWorker(program, ctx);
  registerApi(program, ctx);
  registerMock(program, ctx);
}
