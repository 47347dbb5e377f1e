/**
 * `confbulk status ID [--watch] [--json]`: a batch's state and counts, or (with `--watch`)
 * its progress until it ends.
 */
import { Option, type Command } from 'commander';
import { ValidationError } from '../../errors.js';
import { exitCodeOf, summaryLine, waitAndReport } from '../batch-report.js';
import { EXIT, type CliContext } from '../io.js';
import { intParser, parseSeconds } from '../options.js';
import { withConfbulk } from '../resources.js';

interface StatusFlags {
  watch?: boolean;
  waitTimeout?: number;
  json?: boolean;
}

async function runStatus(ctx: CliContext, id: string, flags: StatusFlags): Promise<void> {
  if (flags.waitTimeout !== undefined && !flags.watch) {
    throw new ValidationError('--wait-timeout only applies with --watch', 'waitTimeout');
  }
  await withConfbulk(ctx, async (confbulk) => {
    const batch = await confbulk.getBatch(id);
    if (!batch) throw new ValidationError(`batch '${id}' not found`, 'id');
    if (flags.watch && batch.state !== 'completed' && batch.state !== 'failed') {
      await waitAndReport(ctx, confbulk, id, {
        json: flags.json === true,
        timeoutMs: flags.waitTimeout,
      });
      return;
    }
    if (flags.json) ctx.json(batch);
    else ctx.out(summaryLine(batch));
    ctx.exitCode = flags.watch ? exitCodeOf(batch) : EXIT.ok;
  });
}

async function runList(ctx: CliContext, flags: { limit: number; json?: boolean }): Promise<void> {
  await withConfbulk(ctx, async (confbulk) => {
    const batches = await confbulk.listBatches({ limit: flags.limit });
    if (flags.json) {
      ctx.json(batches);
      return;
    }
    if (batches.length === 0) ctx.out('no batches');
    for (const batch of batches) ctx.out(summaryLine(batch));
  });
}

/** Adds `status` and `batches`. */
export function registerStatusCommands(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('show a batch: its state and counts; with --watch, follow it until it ends')
    .argument('<id>', 'batch id, as printed by an action command')
    .option(
      '--watch',
      'follow the batch until it ends; exit 0 if clean, 1 with dead letters or failed',
    )
    .addOption(
      new Option(
        '--wait-timeout <seconds>',
        'with --watch: stop after this long (exit 1; the batch goes on)',
      ).argParser(parseSeconds),
    )
    .option('--json', 'print the batch as JSON')
    .action(async (id: string, flags: StatusFlags) => runStatus(ctx, id, flags));

  program
    .command('batches')
    .description('list recent batches, newest first')
    .addOption(
      new Option('--limit <n>', 'how many batches to show (1 to 1000)')
        .argParser(intParser(1, 1000))
        .default(20),
    )
    .option('--json', 'print the batches as a JSON array')
    .action(async (flags: { limit: number; json?: boolean }) => runList(ctx, flags));
}
