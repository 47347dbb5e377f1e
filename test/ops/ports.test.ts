/**
 * The ports test Redis servers run on (scripts/ports.ts): outside the range the OS hands
 * out, never handed out twice while reserved, skipped while their bus port is taken, and
 * taken over once their owner is gone.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUS_OFFSET, PORT_BLOCK, releasePort, reservePort } from '../../scripts/ports.js';
import { freePort } from '../../scripts/redis.js';

const lockFile = (port: number): string => join(tmpdir(), 'confbulk-ports', `${port}.lock`);

describe('reserved ports', () => {
  it('lie below the ephemeral range with their bus port, and are never handed out twice', async () => {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    const ports: number[] = [];
    for (let i = 0; i < 40; i++) ports.push(await reservePort());
    try {
      expect(new Set(ports).size).toBe(ports.length);
      for (const port of ports) {
        expect(port).toBeGreaterThanOrEqual(PORT_BLOCK[0]);
        expect(port + BUS_OFFSET).toBeLessThan(low!);
        expect(readFileSync(lockFile(port), 'utf8')).toBe(String(process.pid));
      }
      // What the OS hands out never lands in the block.
      for (let i = 0; i < 50; i++) expect(await freePort()).toBeGreaterThanOrEqual(low!);
    } finally {
      for (const port of ports) releasePort(port);
    }
    for (const port of ports) expect(() => readFileSync(lockFile(port))).toThrow();
  });

  it('skips a port a live process holds or whose bus port is taken; takes over a dead owner', async () => {
    // A block of its own, outside the shared one, so that no other test's ports interfere.
    const block = [19_990, 19_993] as const;
    const [live, busyBus, stale, last] = [19_990, 19_991, 19_992, 19_993];
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lockFile(live), String(process.ppid));
    writeFileSync(lockFile(stale), String(dead));
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(busyBus + BUS_OFFSET, '127.0.0.1', r));
    const got: number[] = [];
    try {
      got.push(await reservePort(block), await reservePort(block));
      expect(got.sort()).toEqual([stale, last]);
      expect(readFileSync(lockFile(stale), 'utf8')).toBe(String(process.pid));
      await expect(reservePort(block)).rejects.toThrow(/no free port left in 19990-19993/);
      // The skipped port's lock is not left behind.
      expect(() => readFileSync(lockFile(busyBus))).toThrow();
    } finally {
      busy.close();
      for (const port of got) releasePort(port);
      rmSync(lockFile(live), { force: true });
    }
  });
});
