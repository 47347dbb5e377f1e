/**
 * `confbulk schedule add <action> ...`, `schedule list`, `schedule remove NAME`: bulk
 * actions that run at a time or on a cron pattern. `schedule add` has one subcommand per
 * action, with the same flags as the action command.
 */
import { Option, type Command } from 'commander';
import { ValidationError } from '../../errors.js';
import type { Schedule, ScheduleSpec } from '../../types.js';
import {
  ACTION_SPECS,
  addParamOptions,
  addRequestOptions,
  addTargetOptions,
  requestFromOptions,
  type ActionOptionValues,
  type ActionSpec,
} from '../action-options.js';
import { describeTarget } from '../batch-report.js';
import { EXIT, type CliContext } from '../io.js';
import { validateScheduleSpec } from '../../schedules/schedules.js';
import { withConfbulk } from '../resources.js';

interface WhenFlags {
  name: string;
  at?: string;
  cron?: string;
  tz?: string;
  json?: boolean;
}

function specFromOptions(action: ActionSpec, opts: ActionOptionValues & WhenFlags): ScheduleSpec {
  if (!opts.at && !opts.cron) {
    throw new ValidationError('one of --at <time> or --cron <pattern> is required', 'at');
  }
  if (opts.tz && !opts.cron) throw new ValidationError('--tz applies to --cron only', 'tz');
  return {
    name: opts.name,
    ...(opts.at !== undefined && { at: opts.at }),
    ...(opts.cron !== undefined && { cron: opts.cron }),
    ...(opts.tz !== undefined && { tz: opts.tz }),
    request: requestFromOptions(action, opts),
  };
}

function scheduleLine(s: Schedule): string {
  const when = s.cron ? `cron '${s.cron}' (${s.tz ?? 'UTC'})` : `at ${s.at ?? '?'}`;
  const next = s.fired
    ? `ran at ${s.fired.at}: batch ${s.fired.batchId}`
    : s.nextRunAt
      ? `next run ${s.nextRunAt}`
      : 'no run due';
  const skipped = s.lastSkippedRun
    ? `; run of ${s.lastSkippedRun.runAt} skipped, ${Math.round(s.lastSkippedRun.lateMs / 1000)} s late (${s.lastSkippedRun.count} skipped in all)`
    : '';
  return `${s.name}: ${s.request.action} on ${describeTarget(s.request.target)}, ${when}, ${next}${skipped}`;
}

function registerAdd(schedule: Command, ctx: CliContext): void {
  const add = schedule
    .command('add')
    .description(
      'create or replace a schedule: confbulk schedule add <action> --name N (--at TIME | --cron PATTERN) ...',
    );
  for (const spec of ACTION_SPECS) {
    const cmd = add.command(spec.action).description(`schedule: ${spec.summary}`);
    cmd
      .requiredOption(
        '--name <name>',
        'unique schedule name ([A-Za-z0-9._-], 1 to 100); an existing one is replaced',
      )
      .addOption(
        new Option(
          '--at <time>',
          'run once at this ISO 8601 time with Z or an offset, e.g. 2030-01-01T09:00:00Z',
        ).conflicts('cron'),
      )
      .addOption(
        new Option(
          '--cron <pattern>',
          "run on this cron pattern (5 fields, or 6 with seconds first), e.g. '0 9 * * 1-5'",
        ).conflicts('at'),
      )
      .option('--tz <zone>', 'IANA time zone of --cron, e.g. Europe/Paris (default UTC)');
    addTargetOptions(cmd);
    addParamOptions(cmd, spec);
    addRequestOptions(cmd);
    cmd
      .option('--json', 'print the schedule as JSON')
      .action(async (opts: ActionOptionValues & WhenFlags) => {
        const scheduleSpec = specFromOptions(spec, opts);
        // Checked before connecting: bad input is reported at once, even when Redis is down.
        validateScheduleSpec(ctx.getConfig(), scheduleSpec);
        await withConfbulk(ctx, async (confbulk) => {
          const saved = await confbulk.schedules.add(scheduleSpec);
          if (opts.json) ctx.json(saved);
          else ctx.out(scheduleLine(saved));
        });
      });
  }
}

/** Adds `schedule add|list|remove`. */
export function registerScheduleCommands(program: Command, ctx: CliContext): void {
  const schedule = program
    .command('schedule')
    .description('bulk actions that run at a time or on a cron pattern');
  registerAdd(schedule, ctx);

  schedule
    .command('list')
    .description('list the schedules and their next runs')
    .option('--json', 'print the schedules as a JSON array')
    .action(async (flags: { json?: boolean }) => {
      await withConfbulk(ctx, async (confbulk) => {
        const schedules = await confbulk.schedules.list();
        if (flags.json) ctx.json(schedules);
        else if (schedules.length === 0) ctx.out('no schedules');
        else for (const s of schedules) ctx.out(scheduleLine(s));
      });
    });

  schedule
    .command('remove')
    .description('remove a schedule (batches it already created go on)')
    .argument('<name>', 'schedule name')
    .action(async (name: string) => {
      await withConfbulk(ctx, async (confbulk) => {
        if (await confbulk.schedules.remove(name)) {
          ctx.out(`schedule ${name} removed`);
          return;
        }
        ctx.err(`confbulk: no schedule named '${name}'`);
        ctx.exitCode = EXIT.failed;
      });
    });
}
