/**
 * Worker child processes for crash and multi-process tests: `node --import tsx
 * workers/worker.ts`, exactly as production starts one, with its output kept for failure
 * messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { until } from './stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ChildWorker {
  proc: ChildProcess;
  output(): string;
  /** Resolves when the worker logged that it is ready. */
  ready(timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL unless already gone. */
  kill(): Promise<void>;
}

export function spawnWorker(
  env: Record<string, string>,
  args: string[] = [],
  script = 'workers/worker.ts',
): ChildWorker {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    proc,
    output: () => out,
    exited,
    ready: (timeoutMs = 20_000) =>
      until(
        () => {
          if (gone) throw new Error(`worker exited before it was ready:\n${out}`);
          return out.includes('"worker ready"');
        },
        timeoutMs,
        'the worker to be ready',
      ),
    async kill() {
      if (!gone) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}
