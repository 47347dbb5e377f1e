/**
 * Command-line flags shared by `npm run bench` and `npm run chaos`: `--quick`, repeatable
 * `--scenario NAME` (or names as positionals), `-h`, plus runner-specific boolean flags.
 */
import { parseArgs } from 'node:util';

export interface RunnerArgs<S> {
  quick: boolean;
  /** The chosen scenarios, in the runner's order; all of them when none was named. */
  scenarios: S[];
  /** The runner-specific boolean flags, by name. */
  flags: Record<string, boolean>;
}

/**
 * Parses the flags; undefined means `--help`.
 * @throws TypeError naming an unknown flag or scenario and the known ones.
 */
export function parseRunnerArgs<S extends { name: string }>(
  argv: string[],
  scenarios: readonly S[],
  booleanFlags: readonly string[] = [],
): RunnerArgs<S> | undefined {
  const extra = Object.fromEntries(
    booleanFlags.map((flag) => [flag, { type: 'boolean' as const, default: false }]),
  );
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
      ...extra,
    },
  });
  if (values.help) return undefined;
  const names = [...((values.scenario as string[] | undefined) ?? []), ...positionals];
  for (const name of names) {
    if (!scenarios.some((s) => s.name === name)) {
      throw new TypeError(
        `unknown scenario '${name}'; scenarios are: ${scenarios.map((s) => s.name).join(', ')}`,
      );
    }
  }
  const record = values as Record<string, unknown>;
  return {
    quick: record.quick === true,
    scenarios: names.length ? scenarios.filter((s) => names.includes(s.name)) : [...scenarios],
    flags: Object.fromEntries(booleanFlags.map((flag) => [flag, record[flag] === true])),
  };
}
