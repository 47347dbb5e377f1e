/**
 * Scheduling priority of the process that hosts the mock. The mock stands in for
 * SignalWire's servers, which do not share the client's CPUs; on a 2-core machine it
 * competes with the workers and Redis for them, and while it waits for a core the requests
 * it has not read yet are stamped late, all at once. A raised priority (a lower nice
 * value) for the mock's process, and only for it, keeps that artefact out of the figures:
 * workers and Redis run at normal priority, as they would in production.
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Sets every thread of this process (the mock's event loop, libuv's pool, V8's GC helpers;
 * on Linux a nice value is per thread) to `nice`. Returns a function restoring the previous
 * value, or undefined when not permitted (raising needs root or CAP_SYS_NICE).
 */
export function raiseOwnPriority(nice: number): (() => void) | undefined {
  const before = getPriority();
  if (nice >= before) return () => undefined;
  try {
    setThreadsPriority(nice);
  } catch {
    return undefined;
  }
  return () => setThreadsPriority(before);
}

function setThreadsPriority(nice: number): void {
  let tids: number[];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    tids = [0];
  }
  for (const tid of tids) {
    try {
      setPriority(tid, nice);
    } catch (err) {
      // A thread may have exited since the listing; the main one must succeed.
      if (tid === process.pid || tid === 0) throw err;
    }
  }
}

/**
 * The command line that starts a child at normal priority (nice 0) from this process,
 * whose raised priority children would otherwise inherit.
 */
export function atNormalPriority(command: string, args: string[]): [string, string[]] {
  const own = getPriority();
  return own < 0 ? ['nice', ['-n', String(-own), command, ...args]] : [command, args];
}
