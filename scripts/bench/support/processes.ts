/**
 * Child processes of benchmark and chaos runs: `node --import tsx <script>`, exactly as a
 * user starts them from a clone, with their output kept (for failure messages and the
 * secret scan). Every child is registered so that the parent kills whatever is left when
 * it exits, however it exits (see `installExitHandlers`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { atNormalPriority } from './priority.js';

/** The repository root (scripts/bench/support/../../..). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildHandle {
  /** What the child is, for messages (`worker 2`, `cli mute`). */
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Everything it wrote on stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves once its output matches `pattern`; rejects if it exits first or on timeout. */
  waitFor(pattern: string | RegExp, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<ChildExit>;
  /** True once it exited. */
  gone(): boolean;
  /** Sends `signal` (default SIGKILL) unless it is gone, and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<ChildExit>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<ChildExit>;
}

const live = new Set<ChildHandle>();
/** Output of every child started, kept after it exits (the secret scan reads it). */
const transcripts: { name: string; output: () => string }[] = [];

/** Output ever captured from child processes (names and text). */
export function childTranscripts(): { name: string; text: string }[] {
  return transcripts.map((t) => ({ name: t.name, text: t.output() }));
}

/** Forgets the transcripts captured so far (between scenarios). */
export function clearTranscripts(): void {
  transcripts.length = 0;
}

/** Bytes of output kept per child; older output beyond it is dropped (counted). */
const MAX_OUTPUT = 32 * 1024 * 1024;

/**
 * Starts `node --import tsx <script> ...args` in the repository root, at normal priority
 * even when this process runs raised (see priority.ts).
 */
export function spawnTsx(
  name: string,
  script: string,
  args: string[],
  env: Record<string, string>,
): ChildHandle {
  const [command, argv] = atNormalPriority(process.execPath, ['--import', 'tsx', script, ...args]);
  const proc = spawn(command, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const append = (d: Buffer): void => {
    out += d.toString();
    if (out.length > MAX_OUTPUT) out = out.slice(out.length - MAX_OUTPUT);
  };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  let isGone = false;
  const exited = new Promise<ChildExit>((resolve) => {
    proc.once('exit', (code, signal) => {
      isGone = true;
      live.delete(handle);
      resolve({ code, signal });
    });
    proc.once('error', () => {
      isGone = true;
      live.delete(handle);
      resolve({ code: null, signal: null });
    });
  });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<ChildExit> => {
    if (!isGone) proc.kill(signal);
    return exited;
  };
  const handle: ChildHandle = {
    name,
    proc,
    pid: proc.pid ?? -1,
    output: () => out,
    exited,
    gone: () => isGone,
    kill,
    async stop(graceMs = 10_000) {
      if (isGone) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    waitFor: (pattern, timeoutMs = 60_000) =>
      waitForOutput(
        handle,
        () => out,
        () => isGone,
        pattern,
        timeoutMs,
      ),
  };
  live.add(handle);
  transcripts.push({ name, output: () => out });
  return handle;
}

async function waitForOutput(
  child: ChildHandle,
  output: () => string,
  gone: () => boolean,
  pattern: string | RegExp,
  timeoutMs: number,
): Promise<void> {
  const matches = (): boolean =>
    typeof pattern === 'string' ? output().includes(pattern) : pattern.test(output());
  const deadline = Date.now() + timeoutMs;
  while (!matches()) {
    if (gone()) {
      throw new Error(
        `${child.name} exited before printing ${String(pattern)}:\n${tail(output())}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${child.name} did not print ${String(pattern)} within ${timeoutMs} ms:\n${tail(output())}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The last lines of a transcript, for error messages. */
export function tail(text: string, chars = 3000): string {
  return text.length <= chars ? text : `...${text.slice(-chars)}`;
}

/** Stops every child still running: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopAllChildren(graceMs = 5000): Promise<void> {
  await Promise.all([...live].map((c) => c.stop(graceMs)));
}

let installed = false;

/**
 * Kills every child left when this process exits, and turns SIGINT/SIGTERM into an exit
 * (Node does not run `exit` listeners when a signal ends it by default), so that Ctrl-C
 * leaves no worker and no private redis-server behind.
 */
export function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    for (const child of live) child.proc.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping child processes and private Redis servers`);
      process.exit(130);
    });
  }
}

/** Resident set size of a process in bytes (Linux /proc), or undefined when unknown. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m?.[1] ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
