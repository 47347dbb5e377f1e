/**
 * Redis for development, tests, the demo, benchmarks and chaos runs, with no manual step.
 *
 * Order of preference:
 *  1. `REDIS_URL` when it is set and answers PING;
 *  2. a private `redis-server` on a loopback port reserved by scripts/ports.ts, in a
 *     temporary directory, stopped by `stop()` (or when this process exits);
 *  3. where no `redis-server` exists and the machine is Debian/Ubuntu and we are root,
 *     Debian's `redis-server` package is installed first, then (2).
 * Otherwise it fails with a message naming the ways out. Redis >= 6.2 is required
 * (BullMQ needs it), and checked.
 *
 * Run directly (`npm run redis`) it starts a private server, prints its URL and keeps it up
 * until Ctrl-C. `npm run redis -- --cluster` starts a local Redis Cluster of 3 primaries and
 * 3 replicas instead (scripts/redis-cluster.ts) and prints its `REDIS_CLUSTER_NODES`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { releasePort, reservePort } from './ports.js';

export interface ProvisionedRedis {
  /** `redis://127.0.0.1:PORT` */
  url: string;
  /** True when this process started the server (and `stop()` will end it). */
  owned: boolean;
  /** The server's version string, e.g. `7.0.15`. */
  version: string;
  /** Stops the private server (no-op for an external one). Idempotent. */
  stop(): Promise<void>;
  /** Restarts the private server on the same port and data directory (chaos runs). */
  restart(): Promise<void>;
}

export interface ProvisionOptions {
  /** Use this URL instead of `process.env.REDIS_URL`. */
  url?: string;
  /** Extra `redis-server` arguments, e.g. `['--appendonly', 'yes']`. */
  serverArgs?: string[];
  /** Ignore `REDIS_URL` and always start a private server. */
  forcePrivate?: boolean;
  /** Progress messages (installation can take a while). Default: stderr. */
  log?: (msg: string) => void;
}

const MIN_VERSION = [6, 2, 0] as const;

export const NO_REDIS_MESSAGE =
  'confbulk needs Redis >= 6.2 and none could be found or started. Either install Redis ' +
  '(e.g. `apt-get install redis-server`), or run `docker compose up -d redis`, ' +
  'or set REDIS_URL to a reachable server (e.g. redis://127.0.0.1:6379).';

/** Returns the server version (e.g. `7.0.15`) or throws if the server does not answer. */
export async function redisVersion(url: string, timeoutMs = 1500): Promise<string> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = await client.info('server');
    const m = /redis_version:([0-9.]+)/.exec(info);
    if (!m?.[1]) throw new Error(`unexpected INFO reply from Redis at ${new URL(url).host}`);
    return m[1];
  } finally {
    client.disconnect();
  }
}

export function assertSupportedVersion(version: string): void {
  const parts = version.split('.').map((p) => Number(p));
  for (let i = 0; i < 3; i++) {
    const have = parts[i] ?? 0;
    const need = MIN_VERSION[i] ?? 0;
    if (have > need) return;
    if (have < need) {
      throw new Error(
        `Redis ${version} is too old: confbulk needs Redis >= ${MIN_VERSION.join('.')} ` +
          '(BullMQ relies on its commands). Upgrade Redis or point REDIS_URL at a newer server.',
      );
    }
  }
}

function findRedisServer(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status === 0 && found) return found;
  for (const p of [
    '/usr/bin/redis-server',
    '/usr/local/bin/redis-server',
    '/usr/sbin/redis-server',
  ]) {
    if (existsSync(p)) return p;
  }
  return undefined;
}

function canInstallWithApt(): boolean {
  return (
    existsSync('/etc/debian_version') &&
    typeof process.getuid === 'function' &&
    process.getuid() === 0 &&
    existsSync('/usr/bin/apt-get')
  );
}

function installWithApt(log: (msg: string) => void): void {
  log('redis-server not found: installing Debian package redis-server (apt-get)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (update.status !== 0)
    throw new Error(`apt-get update failed: ${update.stderr.trim()}\n${NO_REDIS_MESSAGE}`);
  const install = spawnSync(
    'apt-get',
    ['install', '-y', '-qq', '--no-install-recommends', 'redis-server'],
    {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    },
  );
  if (install.status !== 0)
    throw new Error(
      `apt-get install redis-server failed: ${install.stderr.trim()}\n${NO_REDIS_MESSAGE}`,
    );
  log('redis-server installed.');
}

/** Path of `redis-server`, installing Debian's package first where that is possible. */
export function redisServerBinary(log: (msg: string) => void): string {
  let binary = findRedisServer();
  if (!binary && canInstallWithApt()) {
    installWithApt(log);
    binary = findRedisServer();
  }
  if (!binary) throw new Error(NO_REDIS_MESSAGE);
  return binary;
}

/** A free TCP port on 127.0.0.1, as the OS hands it out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(
  url: string,
  child: ChildProcess,
  getStderr: () => string,
): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server exited with code ${child.exitCode}: ${getStderr().trim()}`);
    }
    try {
      return await redisVersion(url);
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`redis-server did not answer within 10 s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function startPrivate(binary: string, extraArgs: string[]): Promise<ProvisionedRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'confbulk-redis-'));
  // Reserved, not merely free: restart() brings the server back on the same port.
  const port = await reservePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let stderr = '';
  let stopped = false;

  const launch = async (): Promise<string> => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--daemonize',
      'no',
      '--maxmemory-policy',
      'noeviction',
      '--loglevel',
      'warning',
      ...extraArgs,
    ];
    stderr = '';
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child = proc;
    return waitUntilUp(url, proc, () => stderr);
  };

  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  };

  const onExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.once('exit', onExit);

  const version = await launch();
  return {
    url,
    owned: true,
    version,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      await kill('SIGTERM');
      releasePort(port);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill('SIGTERM');
      await launch();
    },
  };
}

/** Finds or starts a Redis server as described at the top of this file. */
export async function provisionRedis(options: ProvisionOptions = {}): Promise<ProvisionedRedis> {
  const log = options.log ?? ((msg: string) => process.stderr.write(`[redis] ${msg}\n`));
  const envUrl = options.forcePrivate ? undefined : (options.url ?? process.env.REDIS_URL);
  if (envUrl) {
    try {
      const version = await redisVersion(envUrl);
      assertSupportedVersion(version);
      const noop = async (): Promise<void> => {};
      return { url: envUrl, owned: false, version, stop: noop, restart: noop };
    } catch (err) {
      if ((err as Error).message.includes('too old')) throw err;
      log(
        `REDIS_URL is set but not reachable (${(err as Error).message}); starting a private redis-server instead.`,
      );
    }
  }
  const redis = await startPrivate(redisServerBinary(log), options.serverArgs ?? []);
  assertSupportedVersion(redis.version);
  return redis;
}

async function cli(): Promise<void> {
  if (process.argv.includes('--cluster')) {
    const { provisionRedisCluster } = await import('./redis-cluster.js');
    const cluster = await provisionRedisCluster();
    console.log(
      `Redis ${cluster.version} cluster of ${cluster.nodes.length} nodes (3 primaries, 3 replicas); ` +
        `Ctrl-C stops it.\nREDIS_CLUSTER_NODES=${cluster.seed}`,
    );
    const stop = (): void => {
      void cluster.stop().then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return;
  }
  const redis = await provisionRedis({ forcePrivate: !process.env.REDIS_URL });
  console.log(
    `Redis ${redis.version} at ${redis.url}${redis.owned ? ' (private; Ctrl-C stops it)' : ''}`,
  );
  if (!redis.owned) return;
  const stop = (): void => {
    void redis.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  cli().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(2);
  });
}
