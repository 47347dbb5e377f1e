/**
 * The `confbulk` command. `main(argv)` is what `bin/confbulk.js` runs; `runCli(argv, io)`
 * runs it with injected streams and environment and returns the exit code (tests).
 *
 * Exit codes: 0 success (a waited batch completed with no dead letters), 1 a waited batch
 * had dead letters or failed, 2 invalid input or configuration (nothing was enqueued).
 */
import { Command, CommanderError } from 'commander';
import { flagOfField } from './action-options.js';
import { registerActionCommands } from './commands/actions.js';
import { registerDlqCommands } from './commands/dlq.js';
import { registerResumeCommand } from './commands/resume.js';
import { registerScheduleCommands } from './commands/schedule.js';
import { registerServiceCommands } from './commands/services.js';
import { registerStatusCommands } from './commands/status.js';
import { registerTokenCommands } from './commands/token.js';
import { CliContext, EXIT, processIo, type CliIo } from './io.js';
import { packageVersion } from '../http/version.js';

const ENVIRONMENT_HELP = `
Environment:
  REDIS_URL                 Redis server shared with the workers (required, except for mock)
  CONFBULK_PREFIX           key prefix in Redis (default {confbulk})
  SIGNALWIRE_SPACE_URL, SIGNALWIRE_PROJECT_ID, SIGNALWIRE_API_TOKEN
                            the default space profile (SIGNALWIRE_<NAME>_* for others)
  CONFBULK_API_TOKEN        bootstrap admin token of the HTTP API (scoped ones: confbulk token)
  CONFBULK_CONFIG           JSON config file (defaults < file < environment < flags)

Exit codes: 0 success, 1 batch completed with dead letters or failed, 2 invalid input.`;

/** Builds the program; every command writes through `ctx`. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('confbulk')
    .description(
      'Bulk actions on the participants of SignalWire conferences, rate-limited and crash-safe',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for the command')
    .helpCommand('help [command]', 'show help for a command')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void ctx.io.stdout.write(s),
      writeErr: (s) => void ctx.io.stderr.write(s),
      outputError: (s, write) => write(`confbulk: ${s.replace(/^error: /, '')}`),
    })
    .addHelpText('after', ENVIRONMENT_HELP);
  registerActionCommands(program, ctx);
  registerStatusCommands(program, ctx);
  registerScheduleCommands(program, ctx);
  registerDlqCommands(program, ctx);
  registerResumeCommand(program, ctx);
  registerServiceCommands(program, ctx);
  registerTokenCommands(program, ctx);
  return program;
}

function isInputError(err: unknown): err is Error & { field?: string } {
  return (
    err instanceof Error &&
    ['ValidationError', 'ConfigError', 'IdempotencyConflictError', 'WebhookResolveError'].includes(
      err.name,
    )
  );
}

/** The message of an input error, pointing at the flag behind a library field. */
function inputErrorMessage(err: Error & { field?: string }): string {
  const flag = flagOfField(err.field);
  return flag && !err.message.includes(flag) ? `${err.message} (${flag})` : err.message;
}

/** Runs the CLI on `argv` (`[node, script, ...args]`) and returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const ctx = new CliContext(io);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; every other parse failure is a usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    }
    if (isInputError(err)) {
      ctx.err(`confbulk: ${inputErrorMessage(err)}`);
      return EXIT.invalid;
    }
    throw err;
  }
}

/**
 * The process entry: real streams and environment; the exit code goes to `process.exitCode`.
 * Unexpected errors (Redis unreachable, ...) print a message and exit 1.
 */
export async function main(argv: string[]): Promise<void> {
  try {
    process.exitCode = await runCli(argv, processIo());
  } catch (err) {
    console.error(`confbulk: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = EXIT.failed;
  }
}
