import { describe, expect, it } from 'vitest';
import { createProgressReporter, progressLine } from '../../src/cli/progress.js';
import type { Batch } from '../../src/types.js';

function batch(state: Batch['state'], succeeded: number, deadLettered = 0, total = 10): Batch {
  return {
    id: 'b-1',
    action: 'mute',
    space: 'default',
    target: { conferenceSid: '4f1b6e6a-1111-4000-8000-000000000001' },
    params: { Muted: true },
    op: 'update',
    intent: 1,
    state,
    counts: {
      total,
      succeeded,
      gone: 0,
      superseded: 0,
      deadLettered,
      pending: total - succeeded - deadLettered,
    },
    createdAt: new Date().toISOString(),
  };
}

describe('progress while waiting', () => {
  it('writes one line per change at most every interval off a terminal', async () => {
    let written = '';
    const progress = createProgressReporter(
      { write: (s: string) => (written += s), isTTY: false },
      { lineIntervalMs: 50 },
    );
    progress.update(batch('listing', 0, 0, 4));
    progress.update(batch('running', 2));
    progress.update(batch('running', 3));
    await new Promise((r) => setTimeout(r, 60));
    progress.update(batch('running', 3));
    progress.update(batch('running', 9, 1));
    progress.stop();
    progress.update(batch('completed', 9, 1));
    expect(written.split('\n').filter(Boolean)).toEqual([
      'batch b-1 listing: 0/4+ done (succeeded 0, gone 0, superseded 0, dead-lettered 0)',
      'batch b-1 running: 3/10 done (succeeded 3, gone 0, superseded 0, dead-lettered 0)',
    ]);
  });

  it('draws a bar on a terminal and clears it when stopped', () => {
    let written = '';
    const tty = {
      write: (s: string) => ((written += s), true),
      isTTY: true,
      columns: 120,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
      on: () => tty,
      removeListener: () => tty,
    };
    const progress = createProgressReporter(tty);
    progress.update(batch('running', 5));
    progress.stop();
    expect(written).toMatch(/50% \| 5\/10 \| ok 5 gone 0 superseded 0 dead 0 \| running/);
  });

  it('counts every terminal outcome as done', () => {
    expect(progressLine(batch('completed', 7, 3))).toBe(
      'batch b-1 completed: 10/10 done (succeeded 7, gone 0, superseded 0, dead-lettered 3)',
    );
  });
});
