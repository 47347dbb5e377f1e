/**
 * What every published figure carries: the machine it ran on (cores, memory, load average
 * before and after), the versions of Node, Redis and BullMQ, and the date; and where the
 * JSON of a scenario is written (`bench-results/<scenario>.json`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes.js';

export interface MachineInfo {
  date: string;
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  /** 1, 5 and 15 minute load averages when the scenario started. */
  loadAverage: number[];
  node: string;
  redis: string;
  bullmq: string;
}

function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(
      readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'),
    ) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function roundLoad(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}

/** The machine and versions, now. */
export function machineInfo(redisVersion: string): MachineInfo {
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    loadAverage: roundLoad(),
    node: process.version,
    redis: redisVersion,
    bullmq: packageVersion('bullmq'),
  };
}

/** One line naming the machine, for the top of a printed report. */
export function describeMachine(m: MachineInfo): string {
  return (
    `${m.date} | ${m.nproc} cores (${m.cpuModel}), ${m.memoryGiB} GiB | load average ` +
    `${m.loadAverage.join(' / ')} | Node ${m.node}, Redis ${m.redis}, BullMQ ${m.bullmq}`
  );
}

/** Writes `value` as pretty JSON to `<dir>/<name>.json` (directory created); returns the path. */
export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(ROOT, dir, `${name}.json`);
  mkdirSync(join(ROOT, dir), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}
