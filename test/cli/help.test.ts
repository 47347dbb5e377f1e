import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CliContext } from '../../src/cli/io.js';
import { buildProgram } from '../../src/cli/main.js';
import { confbulk } from './run-cli.js';

/** Every command path (`['schedule', 'add', 'mute']`) with the long flags it declares. */
function commandsOf(cmd: Command, path: string[] = []): { path: string[]; flags: string[] }[] {
  const own = { path, flags: cmd.options.map((o) => o.long).filter((f): f is string => !!f) };
  return [
    own,
    ...cmd.commands
      .filter((c) => c.name() !== 'help')
      .flatMap((c) => commandsOf(c, [...path, c.name()])),
  ];
}

const sink = { write: () => true };
const ALL = commandsOf(buildProgram(new CliContext({ stdout: sink, stderr: sink, env: {} })));

describe('confbulk --help', () => {
  it('covers the documented commands', () => {
    const names = ALL.map((c) => c.path.join(' '));
    for (const expected of [
      'mute',
      'unmute',
      'hold',
      'unhold',
      'hold-music',
      'wait-music',
      'announce',
      'coach',
      'remove',
      'update',
      'status',
      'schedule add mute',
      'schedule add update',
      'schedule list',
      'schedule remove',
      'dlq list',
      'dlq show',
      'dlq replay',
      'dlq purge',
      'resume',
      'worker',
      'api',
      'mock',
    ]) {
      expect(names).toContain(expected);
    }
  });

  it('exits 0 and describes every flag, for the root and every command', async () => {
    for (const { path, flags } of ALL) {
      const { code, stdout, stderr } = await confbulk({}, ...path, '--help');
      expect({ path, code, stderr }).toEqual({ path, code: 0, stderr: '' });
      expect(stdout).toMatch(/^Usage: confbulk/);
      for (const flag of flags) {
        const line = stdout
          .split('\n')
          .find((l) => l.trimStart().startsWith(flag) || l.includes(`, ${flag}`));
        expect(line, `${path.join(' ')} ${flag}`).toBeDefined();
        // A description follows the flag on its line.
        expect(
          line?.replace(/^\s*(-\w, )?--[\w-]+( <[^>]+>| \[[^\]]+\])?/, '').trim().length,
          `${path.join(' ')} ${flag}`,
        ).toBeGreaterThan(3);
      }
    }
  });

  it('prints the version', async () => {
    const { code, stdout } = await confbulk({}, '--version');
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
