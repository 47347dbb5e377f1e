/**
 * The demo's live view: a bar on a terminal (cli-progress), plain lines otherwise, and
 * notes about the trouble the mock makes, printed above the bar as they happen.
 */
import cliProgress from 'cli-progress';
import type { Batch } from '../../src/types.js';
import type { ProgressStyle } from './options.js';

export interface DemoProgress {
  update(batch: Batch): void;
  /** A line of its own (above the bar on a terminal). */
  note(text: string): void;
  /** Removes the bar. Idempotent. */
  stop(): void;
}

function doneOf(batch: Batch): number {
  const c = batch.counts;
  return c.succeeded + c.gone + c.superseded + c.deadLettered;
}

function barProgress(out: NodeJS.WritableStream): DemoProgress {
  const bars = new cliProgress.MultiBar(
    {
      stream: out,
      format:
        ' {bar} {value}/{total} | muted {succeeded} gone {gone} dead-lettered {deadLettered} | {duration}s',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | undefined;
  let stopped = false;
  return {
    update(batch) {
      if (stopped || batch.counts.total === 0) return;
      const payload = { ...batch.counts };
      const total = Math.max(batch.counts.total, 1);
      if (!bar) bar = bars.create(total, doneOf(batch), payload);
      bar.setTotal(total);
      bar.update(doneOf(batch), payload);
    },
    note(text) {
      if (stopped) out.write(`${text}\n`);
      else bars.log(`${text}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bars.stop();
    },
  };
}

function lineProgress(out: NodeJS.WritableStream, intervalMs = 1000): DemoProgress {
  let lastAt = 0;
  let last = '';
  return {
    update(batch) {
      const c = batch.counts;
      if (c.total === 0) return;
      const line = `progress: ${doneOf(batch)}/${c.total} done (muted ${c.succeeded}, gone ${c.gone}, dead-lettered ${c.deadLettered})`;
      const now = Date.now();
      const finished = c.pending === 0 && batch.state !== 'listing';
      if (line === last || (!finished && now - lastAt < intervalMs)) return;
      last = line;
      lastAt = now;
      out.write(`${line}\n`);
    },
    note: (text) => void out.write(`${text}\n`),
    stop: () => {},
  };
}

/** The view for `style`; `auto` is a bar on a terminal and lines elsewhere. */
export function createDemoProgress(style: ProgressStyle, out: NodeJS.WritableStream): DemoProgress {
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  if (style === 'none') return { update: () => {}, note: () => {}, stop: () => {} };
  if (style === 'bar' || (style === 'auto' && tty)) return barProgress(out);
  return lineProgress(out);
}
