/**
 * How the CLI shows a batch, waits for it, and turns its end state into an exit code.
 */
import type { Batch, BulkTarget, Confbulk } from '../types.js';
import { createProgressReporter, waitingText } from './progress.js';
import { commandName } from './command-name.js';
import { EXIT, interruptScope, type CliContext } from './io.js';

/** `conference CF... (3 participants, except 1, only muted)` */
export function describeTarget(target: BulkTarget): string {
  const parts: string[] = [];
  if (target.callSids) parts.push(`${plural(target.callSids.length, 'listed participant')}`);
  if (target.except?.length) parts.push(`except ${target.except.length}`);
  if (target.filter?.muted !== undefined)
    parts.push(target.filter.muted ? 'only muted' : 'only unmuted');
  if (target.filter?.hold !== undefined)
    parts.push(target.filter.hold ? 'only on hold' : 'only not on hold');
  const conference = target.conferenceSid
    ? `conference ${target.conferenceSid}`
    : `conference named '${target.conferenceName ?? '?'}'`;
  return parts.length ? `${conference} (${parts.join(', ')})` : conference;
}

/** `1 participant`, `3 participants`. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** One human line for a batch in any state. */
export function summaryLine(batch: Batch): string {
  const c = batch.counts;
  const head = `batch ${batch.id}: ${batch.action} on ${describeTarget(batch.target)} in space ${batch.space}: ${batch.state}`;
  const counts =
    `${plural(c.total, 'participant')}; ${c.succeeded} succeeded, ${c.gone} gone, ` +
    `${c.superseded} superseded, ${c.deadLettered} dead-lettered, ${c.pending} pending`;
  const error = batch.error ? `; error: ${batch.error}` : '';
  return `${head}; ${counts}${error}${waitingText(batch)}`;
}

/** 0 for a clean completion, 1 for dead letters or a failed batch (and a batch still going). */
export function exitCodeOf(batch: Batch): number {
  return batch.state === 'completed' && batch.counts.deadLettered === 0 ? EXIT.ok : EXIT.failed;
}

/** Prints the end state of a batch and where to look next. */
export function reportFinal(ctx: CliContext, batch: Batch, json: boolean, created?: boolean): void {
  if (json) {
    ctx.json(created === undefined ? batch : { created, batch });
  } else {
    ctx.out(summaryLine(batch));
    if (batch.counts.deadLettered > 0) {
      ctx.out(`dead letters: ${commandName(ctx.io.env)} dlq list --batch ${batch.id}`);
    }
  }
  ctx.exitCode = exitCodeOf(batch);
}

export interface WaitFlags {
  json: boolean;
  /** Give up waiting after this long (the batch goes on). */
  timeoutMs?: number;
}

function isAbort(err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (err as Error | undefined)?.name === 'AbortError';
}

/**
 * Waits for batch `id` to end while showing its progress on stderr, then reports it.
 * Ctrl-C or the timeout only stop the waiting: the batch goes on in the workers.
 */
export async function waitAndReport(
  ctx: CliContext,
  confbulk: Confbulk,
  id: string,
  flags: WaitFlags,
  created?: boolean,
): Promise<void> {
  const progress = createProgressReporter(ctx.io.stderr);
  const { signal, release } = interruptScope(ctx.io);
  let final: Batch;
  try {
    final = await confbulk.waitForBatch(id, {
      signal,
      timeoutMs: flags.timeoutMs,
      onProgress: (batch) => progress.update(batch),
    });
  } catch (err) {
    progress.stop();
    if (isAbort(err, signal)) {
      ctx.err(
        `confbulk: stopped waiting; batch ${id} goes on (${commandName(ctx.io.env)} status ${id} --watch)`,
      );
      ctx.exitCode = EXIT.interrupted;
      return;
    }
    if ((err as Error).name === 'BatchWaitTimeoutError') {
      ctx.err(
        `confbulk: ${(err as Error).message} (${commandName(ctx.io.env)} status ${id} --watch)`,
      );
      ctx.exitCode = EXIT.failed;
      return;
    }
    throw err;
  } finally {
    release();
  }
  progress.stop();
  reportFinal(ctx, final, flags.json, created);
}
