/**
 * Progress of a batch while the CLI waits for it: a live bar on a terminal, and otherwise
 * (logs, CI, pipes) one line at most every few seconds, only when something changed.
 */
import cliProgress from 'cli-progress';
import type { Batch } from '../types.js';
import type { OutputStream } from './io.js';

export interface ProgressReporter {
  /** Shows the batch's latest counts. */
  update(batch: Batch): void;
  /** Removes the bar (terminal) and stops reporting. Idempotent. */
  stop(): void;
}

export interface ProgressOptions {
  /** Shortest time between two progress lines off a terminal. @defaultValue 2000 */
  lineIntervalMs?: number;
}

/** Participants with a terminal outcome. */
export function doneCount(batch: Batch): number {
  const c = batch.counts;
  return c.succeeded + c.gone + c.superseded + c.deadLettered;
}

/** `running: 120/500 done (succeeded 100, gone 15, superseded 0, dead-lettered 5)` */
export function progressLine(batch: Batch): string {
  const c = batch.counts;
  const total = batch.state === 'listing' ? `${c.total}+` : String(c.total);
  return (
    `batch ${batch.id} ${batch.state}: ${doneCount(batch)}/${total} done ` +
    `(succeeded ${c.succeeded}, gone ${c.gone}, superseded ${c.superseded}, dead-lettered ${c.deadLettered})` +
    waitingText(batch)
  );
}

/** `; waiting: <why>` while the batch is held back, else nothing. */
export function waitingText(batch: Batch): string {
  const reason = batch.reason;
  return reason && reason.code !== 'failed' ? `; waiting: ${reason.message}` : '';
}

function barReporter(stream: OutputStream): ProgressReporter {
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as NodeJS.WritableStream,
      format:
        '{bar} {percentage}% | {value}/{total} | ok {succeeded} gone {gone} superseded {superseded} ' +
        'dead {deadLettered} | {state} | {duration_formatted}',
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  return {
    update(batch) {
      if (stopped) return;
      const reason = batch.reason && batch.reason.code !== 'failed' ? batch.reason : undefined;
      const payload = {
        ...batch.counts,
        state: reason ? `${batch.state}, waiting: ${reason.code}` : batch.state,
      };
      const total = Math.max(batch.counts.total, 1);
      if (!started) {
        bar.start(total, doneCount(batch), payload);
        started = true;
        return;
      }
      bar.setTotal(total);
      bar.update(doneCount(batch), payload);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (started) bar.stop();
    },
  };
}

function lineReporter(stream: OutputStream, intervalMs: number): ProgressReporter {
  let lastLine = '';
  let lastAt = 0;
  let stopped = false;
  return {
    update(batch) {
      if (stopped) return;
      const line = progressLine(batch);
      const now = Date.now();
      if (line === lastLine || now - lastAt < intervalMs) return;
      lastLine = line;
      lastAt = now;
      stream.write(`${line}\n`);
    },
    stop() {
      stopped = true;
    },
  };
}

/** A bar when `stream` is a terminal, progress lines otherwise. */
export function createProgressReporter(
  stream: OutputStream,
  options: ProgressOptions = {},
): ProgressReporter {
  return stream.isTTY ? barReporter(stream) : lineReporter(stream, options.lineIntervalMs ?? 2000);
}
