/** The `confbulk` CLI as a child process, run from the sources as a user runs it. */
import { spawnTsx } from '../../bench/support/processes.js';

export interface CliRun {
  args: string[];
  code: number | null;
  /** stdout and stderr, interleaved. */
  output: string;
}

/** Runs `confbulk ...args` with `env` and waits for it to exit (killed after `timeoutMs`). */
export async function runCli(
  env: Record<string, string>,
  args: string[],
  timeoutMs = 60_000,
): Promise<CliRun> {
  const child = spawnTsx(`cli ${args.slice(0, 2).join(' ')}`, 'src/cli/run.ts', args, env);
  const timer = setTimeout(() => void child.kill(), timeoutMs);
  try {
    const { code } = await child.exited;
    return { args, code, output: child.output() };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `jobs` with at most `parallel` at a time, keeping their order in the result. */
export async function inParallel<T, R>(
  items: readonly T[],
  parallel: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, lane));
  return results;
}
