/**
 * `confbulk mute|unmute|hold|...`: one command per bulk action. Without `--wait` it prints
 * the batch id (or JSON) as soon as the batch is queued; with `--wait` it follows the
 * batch to its end and exits 0 (clean), 1 (dead letters or failed).
 */
import { Option, type Command } from 'commander';
import {
  ACTION_SPECS,
  addParamOptions,
  addRequestOptions,
  addTargetOptions,
  requestFromOptions,
  type ActionOptionValues,
  type ActionSpec,
} from '../action-options.js';
import { describeTarget, waitAndReport } from '../batch-report.js';
import { commandName } from '../command-name.js';
import type { CliContext } from '../io.js';
import { ValidationError } from '../../errors.js';
import { parseSeconds } from '../options.js';
import { validateBulkActionRequest } from '../../bulk-actions/request-schema.js';
import { withConfbulk } from '../resources.js';

interface RunFlags {
  wait?: boolean;
  waitTimeout?: number;
  json?: boolean;
}

async function runAction(
  ctx: CliContext,
  spec: ActionSpec,
  opts: ActionOptionValues & RunFlags,
): Promise<void> {
  if (opts.waitTimeout !== undefined && !opts.wait) {
    throw new ValidationError('--wait-timeout only applies with --wait', 'waitTimeout');
  }
  const request = requestFromOptions(spec, opts);
  // Checked before connecting: bad input is reported at once, even when Redis is down.
  validateBulkActionRequest(ctx.getConfig(), request);
  await withConfbulk(ctx, async (confbulk) => {
    const handle = await confbulk.bulkAction(request);
    // Said at once, on stderr (stdout stays the batch id): the batch would otherwise wait
    // in silence until a worker starts.
    if (handle.batch.reason?.code === 'no-worker') {
      ctx.err(`confbulk: warning: ${handle.batch.reason.message}`);
    }
    if (opts.wait) {
      await waitAndReport(
        ctx,
        confbulk,
        handle.id,
        { json: opts.json === true, timeoutMs: opts.waitTimeout },
        handle.created,
      );
      return;
    }
    if (opts.json) {
      ctx.json({ created: handle.created, batch: handle.batch });
      return;
    }
    ctx.out(handle.id);
    if (ctx.io.stderr.isTTY) {
      const what = handle.created
        ? 'queued'
        : `already exists for this idempotency key (${handle.batch.state})`;
      ctx.err(
        `batch ${handle.id} ${what}: ${spec.action} on ${describeTarget(handle.batch.target)}`,
      );
      ctx.err(`follow it with: ${commandName(ctx.io.env)} status ${handle.id} --watch`);
    }
  });
}

/** Adds one command per bulk action to `program`. */
export function registerActionCommands(program: Command, ctx: CliContext): void {
  for (const spec of ACTION_SPECS) {
    const cmd = program.command(spec.action).description(spec.summary);
    addTargetOptions(cmd);
    addParamOptions(cmd, spec);
    addRequestOptions(cmd);
    cmd
      .option(
        '--wait',
        'block until the batch ends, showing its progress on stderr; exit 1 if it had dead letters or failed',
      )
      .addOption(
        new Option(
          '--wait-timeout <seconds>',
          'with --wait: stop waiting after this long (exit 1; the batch goes on)',
        ).argParser(parseSeconds),
      )
      .option(
        '--json',
        'print JSON {created, batch} (with --wait: the final batch with its counts)',
      )
      .action(async (opts: ActionOptionValues & RunFlags) => runAction(ctx, spec, opts));
  }
}
