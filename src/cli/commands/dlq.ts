/**
 * `confbulk dlq list|show|replay|purge`: participant requests that could not succeed.
 */
import { Option, type Command } from 'commander';
import { getSpace } from '../../config.js';
import { ValidationError } from '../../errors.js';
import type { DeadLetterEntry } from '../../dead-letters/types.js';
import { checkDeadLetterId } from '../../dead-letters/replay.js';
import { parseSetOptions } from '../../dead-letters/set-option.js';
import { EXIT, type CliContext } from '../io.js';
import { collect, intParser } from '../options.js';
import { withDeadLetters } from '../resources.js';

/** `<id> <space> conference/call: reason, status, message` */
function entryLine(e: DeadLetterEntry): string {
  const answer = [e.status && `HTTP ${e.status}`, e.code && `code ${e.code}`, e.apiMessage]
    .filter(Boolean)
    .join(' ');
  return (
    `${e.id}  ${e.deadLetteredAt}  space ${e.job.space}  batch ${e.job.batchId}  ` +
    `${e.job.op} call ${e.job.callSid}: ${e.reason}${answer ? ` (${answer})` : ''}`
  );
}

function entryDetails(e: DeadLetterEntry): string[] {
  const lines = [
    `id:            ${e.id}`,
    `batch:         ${e.job.batchId}`,
    `space:         ${e.job.space}`,
    `conference:    ${e.job.conferenceSid}`,
    `call:          ${e.job.callSid}`,
    `operation:     ${e.job.op} ${JSON.stringify(e.job.params)}`,
    `reason:        ${e.reason}`,
    `last answer:   ${[e.status && `HTTP ${e.status}`, e.code && `code ${e.code}`, e.apiMessage].filter(Boolean).join(' ') || '(none)'}`,
    `dead-lettered: ${e.deadLetteredAt} by ${e.worker}`,
  ];
  if (e.moreInfo) lines.push(`more info:     ${e.moreInfo}`);
  lines.push(`attempts:      ${e.attempts.length}`);
  for (const a of e.attempts)
    lines.push(`  ${a.at}  ${a.kind}${a.status ? ` ${a.status}` : ''}  ${a.message}`);
  return lines;
}

/** `[ID...]` or `--all`, exactly one. @throws ValidationError */
function selection(
  ids: string[],
  all: boolean | undefined,
  verb: string,
): { ids: string[] } | { all: true } {
  if (all && ids.length > 0)
    throw new ValidationError(`give dead-letter ids or --all, not both`, 'ids');
  if (all) return { all: true };
  if (ids.length === 0)
    throw new ValidationError(`give the dead-letter ids to ${verb}, or --all`, 'ids');
  // Checked before connecting: an id that is no dead-letter id never reaches Redis.
  return { ids: ids.map((id, i) => checkDeadLetterId(id, `ids[${i}]`)) };
}

function registerList(dlq: Command, ctx: CliContext): void {
  dlq
    .command('list')
    .description('list dead letters, newest first')
    .addOption(
      new Option('--limit <n>', 'how many to show (1 to 1000)')
        .argParser(intParser(1, 1000))
        .default(50),
    )
    .addOption(
      new Option('--offset <n>', 'how many to skip (for paging)')
        .argParser(intParser(0, 10_000_000))
        .default(0),
    )
    .option('--batch <id>', 'only dead letters of this batch')
    .option('--space <name>', 'only dead letters of this space profile')
    .option('--json', 'print JSON {total, deadLetters}')
    .action(
      async (flags: {
        limit: number;
        offset: number;
        batch?: string;
        space?: string;
        json?: boolean;
      }) => {
        // A space that is not configured has no dead letters to find: say so, not "none".
        if (flags.space !== undefined) getSpace(ctx.getConfig(), flags.space);
        await withDeadLetters(ctx, async (store) => {
          const filter = { batchId: flags.batch, space: flags.space };
          const [total, entries] = await Promise.all([
            store.count(filter),
            store.list({
              limit: flags.limit,
              offset: flags.offset,
              batchId: flags.batch,
              space: flags.space,
            }),
          ]);
          if (flags.json) {
            ctx.json({ total, deadLetters: entries });
            return;
          }
          if (entries.length === 0) ctx.out('no dead letters');
          for (const entry of entries) ctx.out(entryLine(entry));
        });
      },
    );
}

function registerShow(dlq: Command, ctx: CliContext): void {
  dlq
    .command('show')
    .description('show one dead letter with every failed attempt')
    .argument('<id>', 'dead-letter id, as listed by dlq list')
    .option('--json', 'print the dead letter as JSON')
    .action(async (given: string, flags: { json?: boolean }) => {
      const id = checkDeadLetterId(given, 'id');
      await withDeadLetters(ctx, async (store) => {
        const entry = await store.get(id);
        if (!entry) throw new ValidationError(`dead letter '${id}' not found`, 'id');
        if (flags.json) ctx.json(entry);
        else for (const line of entryDetails(entry)) ctx.out(line);
      });
    });
}

function registerReplay(dlq: Command, ctx: CliContext): void {
  dlq
    .command('replay')
    .description(
      'enqueue dead letters again as new jobs (nothing is replayed if one is unknown or invalid)',
    )
    .argument('[ids...]', 'dead-letter ids to replay')
    .option('--all', 'replay every dead letter')
    .addOption(
      new Option(
        '--set <Param=Value>',
        'change an update parameter before replaying, repeatable (e.g. HoldUrl=https://...)',
      )
        .argParser(collect)
        .default([]),
    )
    .option('--json', 'print JSON {replayed, jobIds, alreadyTaken?}')
    .action(async (ids: string[], flags: { all?: boolean; set: string[]; json?: boolean }) => {
      const selected = selection(ids, flags.all, 'replay');
      const set = parseSetOptions(flags.set);
      await withDeadLetters(ctx, async (store) => {
        const result = await store.replay({ ...selected, set });
        if (flags.json) ctx.json(result);
        else ctx.out(`replayed ${result.replayed} dead letter${result.replayed === 1 ? '' : 's'}`);
        if (!flags.json && result.alreadyTaken) {
          ctx.out(`already replayed by another request: ${result.alreadyTaken.join(', ')}`);
        }
      });
    });
}

function registerPurge(dlq: Command, ctx: CliContext): void {
  dlq
    .command('purge')
    .description('remove dead letters without replaying them')
    .argument('[ids...]', 'dead-letter ids to remove')
    .option('--all', 'remove every dead letter')
    .option('--json', 'print JSON {purged}')
    .action(async (ids: string[], flags: { all?: boolean; json?: boolean }) => {
      const selected = selection(ids, flags.all, 'purge');
      await withDeadLetters(ctx, async (store) => {
        const purged = await store.purge(selected);
        if (flags.json) ctx.json({ purged });
        else ctx.out(`purged ${purged} dead letter${purged === 1 ? '' : 's'}`);
        if ('ids' in selected && purged < selected.ids.length) {
          ctx.err(`confbulk: ${selected.ids.length - purged} of the given ids were not found`);
          ctx.exitCode = EXIT.failed;
        }
      });
    });
}

/** Adds `dlq list|show|replay|purge`. */
export function registerDlqCommands(program: Command, ctx: CliContext): void {
  const dlq = program
    .command('dlq')
    .description('dead letters: participant requests that could not succeed');
  registerList(dlq, ctx);
  registerShow(dlq, ctx);
  registerReplay(dlq, ctx);
  registerPurge(dlq, ctx);
}
