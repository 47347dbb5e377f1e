/**
 * Ports for the Redis servers that tests, benchmarks and chaos runs start and kill.
 *
 * A port the OS hands out (`listen(0)`) comes from its ephemeral range, the same range it
 * hands to every other listener and to outgoing connections. That is fine for a server
 * that lives as long as its test, but not for one that is killed while its clients keep
 * reconnecting to it: in the minutes a failover test runs, another test on the machine can
 * be given the dead node's port, and the clients of the first test then talk to a stranger
 * (a plain Redis, or a node of another cluster whose MOVED replies pull them into it). A
 * cluster node also needs its bus port, its own port + 10000, free.
 *
 * So these ports come from a block below Linux's default ephemeral range (32768-60999),
 * which the OS never hands out: 20000-22767, bus ports 30000-32767. Each is
 * reserved across processes by a lock file created exclusively (`wx`) under the temporary
 * directory, holding the owner's pid. A port stays reserved, dead server or not, until its
 * owner releases it or exits; a lock whose pid is gone is taken over. A port is handed out
 * only if both it and its bus port bind right now.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The block, first and last port. */
export const PORT_BLOCK: readonly [number, number] = [20_000, 22_767];
/** Redis Cluster's bus port is the node's port plus this. */
export const BUS_OFFSET = 10_000;

const LOCK_DIR = join(tmpdir(), 'confbulk-ports');

const held = new Set<number>();

function releaseAllOnExit(): void {
  for (const port of held) rmSync(lockPath(port), { force: true });
  held.clear();
}
let hooked = false;

function lockPath(port: number): string {
  return join(LOCK_DIR, `${port}.lock`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the port's lock file, or takes over one whose owner is gone. */
function lock(port: number): boolean {
  const path = lockPath(port);
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let owner: number;
  try {
    owner = Number(readFileSync(path, 'utf8').trim());
  } catch {
    return false; // released as we looked: the next pass may take it
  }
  if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
  // A stale lock: remove it and race for it like anyone else.
  rmSync(path, { force: true });
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

function binds(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port (and its cluster bus port) reserved for this process until `releasePort` or exit.
 * Throws when the block (`PORT_BLOCK` unless given) is used up.
 */
export async function reservePort(block: readonly [number, number] = PORT_BLOCK): Promise<number> {
  const [first, last] = block;
  mkdirSync(LOCK_DIR, { recursive: true });
  if (!hooked) {
    hooked = true;
    process.once('exit', releaseAllOnExit);
  }
  const size = last - first + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = first + ((start + i) % size);
    if (held.has(port) || !lock(port)) continue;
    if ((await binds(port)) && (await binds(port + BUS_OFFSET))) {
      held.add(port);
      return port;
    }
    rmSync(lockPath(port), { force: true });
  }
  throw new Error(`no free port left in ${first}-${last} (locks in ${LOCK_DIR})`);
}

/** Gives a port back once nothing will reconnect to it any more. */
export function releasePort(port: number): void {
  if (!held.delete(port)) return;
  rmSync(lockPath(port), { force: true });
}
