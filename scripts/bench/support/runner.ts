/**
 * The loop shared by `npm run bench` and `npm run chaos`: parse the flags (usage on error or
 * `--help`), run the chosen scenarios one after the other, always stop every child process
 * and private Redis, then print how long it took and what failed.
 */
import { installExitHandlers, stopAllChildren } from './processes.js';

export interface Runner<S, O extends { scenarios: S[] }> {
  /** `bench` or `chaos`: prefixes error and summary lines. */
  name: string;
  usage: string;
  /** Undefined means `--help`. @throws on bad flags */
  parse(argv: string[]): O | undefined;
  /** Runs one scenario; resolves to its number of failures (targets missed, promises broken). */
  run(scenario: S, options: O): Promise<number>;
  /** The closing line's verdict for `failures`. */
  verdict(failures: number): string;
}

/** Runs the scenarios; undefined when only the usage was printed. */
export async function runScenarios<S, O extends { scenarios: S[] }>(
  runner: Runner<S, O>,
  argv: string[],
): Promise<{ options: O; failures: number } | undefined> {
  let options: O | undefined;
  try {
    options = runner.parse(argv);
  } catch (err) {
    console.error(`${runner.name}: ${(err as Error).message}\n\n${runner.usage}`);
    process.exitCode = 2;
    return undefined;
  }
  if (!options) {
    console.log(runner.usage);
    return undefined;
  }
  installExitHandlers();
  const started = Date.now();
  let failures = 0;
  try {
    for (const scenario of options.scenarios) failures += await runner.run(scenario, options);
  } finally {
    await stopAllChildren();
  }
  const took = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`\n${runner.name} finished in ${took} s: ${runner.verdict(failures)}`);
  return { options, failures };
}
