/**
 * Redis down under a worker process: one line naming REDIS_URL (never the password), quiet
 * retries, one line when it is back; no stack dumps, no duplicate keys in the JSON lines.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { REPEAT_QUIET_MS, RedisHealth } from '../../src/redis-health.js';
import { provisionRedis, type ProvisionedRedis } from '../../scripts/redis.js';
import { spawnWorker, type ChildWorker } from './support/child-worker.js';
import { until } from './support/stack.js';

const CANNOT_REACH = /cannot reach Redis at 127\.0\.0\.1:\d+ \(REDIS_URL\): ECONNREFUSED/g;

function lines(output: string): string[] {
  return output.split('\n').filter((l) => l.trim() !== '');
}

describe('a worker whose Redis is down', () => {
  let redis: ProvisionedRedis | undefined;
  let worker: ChildWorker | undefined;

  afterEach(async () => {
    await worker?.kill();
    await redis?.stop();
  });

  it('says so once naming REDIS_URL, retries quietly, and says when Redis is back', async () => {
    redis = await provisionRedis({ forcePrivate: true, log: () => {} });
    const url = redis.url;
    const admin = new Redis(url, { retryStrategy: () => null });
    admin.on('error', () => {});
    await admin.shutdown('NOSAVE').catch(() => {});
    admin.disconnect();

    worker = spawnWorker({
      REDIS_URL: url,
      SIGNALWIRE_SPACE_URL: 'http://127.0.0.1:9',
      SIGNALWIRE_PROJECT_ID: 'p-0123',
      SIGNALWIRE_API_TOKEN: 'PT-secret-token',
      CONFBULK_PREFIX: 't-redis-down',
    });
    const w = worker;
    await until(() => CANNOT_REACH.test(w.output()), 15_000, 'the cannot-reach line');
    // Several reconnect rounds of every connection (shared, subscriber, blocking ones).
    await new Promise((r) => setTimeout(r, 3000));
    const down = w.output();
    expect(down.match(CANNOT_REACH)).toHaveLength(1);
    expect(down).not.toMatch(/TCPConnectWrap|at .*node:net/);
    expect(down).not.toContain('workers started');
    for (const line of lines(down)) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    expect(lines(down).length).toBeLessThanOrEqual(2);

    await redis.restart();
    await w.ready(20_000);
    const up = w.output();
    expect(up).toMatch(/Redis at 127\.0\.0\.1:\d+ is reachable again after \d+\.\d s/);
    expect(up.match(CANNOT_REACH)).toHaveLength(1);
    expect(up).toContain('"workers started"');
    for (const line of lines(up)) {
      expect(() => JSON.parse(line) as unknown, line).not.toThrow();
      expect(line.match(/"component":/g)?.length ?? 0, line).toBeLessThanOrEqual(1);
      expect(line).not.toContain('PT-secret-token');
    }
  }, 60_000);

  it('names the host and port, never the password of REDIS_URL', () => {
    let out = '';
    const log = createLogger({ destination: { write: (s: string) => (out += s) }, level: 'info' });
    const health = new RedisHealth(log, 'redis://user:hunter2-pass@10.1.2.3:6390/0', () => 1000);
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:6390'), {
      code: 'ECONNREFUSED',
    });
    health.error(refused, 'connection');
    health.error(refused, 'subscriber');
    health.error(refused, 'updates.default');
    expect(health.down).toBe(true);
    health.ready();
    health.ready();
    const records = lines(out).map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(records.map((r) => r.msg)).toEqual([
      'cannot reach Redis at 10.1.2.3:6390 (REDIS_URL): ECONNREFUSED; retrying quietly with backoff',
      'Redis at 10.1.2.3:6390 is reachable again after 0.0 s',
    ]);
    expect(out).not.toContain('hunter2');
    expect(health.down).toBe(false);
  });

  it('logs a repeated command error once per quiet spell, then counts what it left out', () => {
    let out = '';
    let now = 0;
    const log = createLogger({ destination: { write: (x: string) => (out += x) }, level: 'info' });
    const health = new RedisHealth(log, 'redis://127.0.0.1:6390', () => now);
    const slots = new Error('Failed to refresh slots cache.');
    // A failover: every connection says so every 100 ms for 10 s.
    for (; now < 10_000; now += 100) {
      for (const source of ['updates.alpha', 'fanout', 'schedules']) health.error(slots, source);
    }
    // A shard's jobs lost: the same error for each of them, ids apart.
    for (let i = 0; i < 50; i++) {
      health.error(new Error(`Missing key for job b_${i}x.k${i}. moveToFinished`), 'updates.alpha');
    }
    now = REPEAT_QUIET_MS + 50;
    health.error(slots, 'fanout');
    const records = lines(out).map(
      (l) => JSON.parse(l) as { msg: string; err: string; repeated?: number },
    );
    expect(records.map((r) => r.msg)).toEqual([
      'Redis command error',
      'Redis command error',
      'Redis command error (299 more like it in the 30 s before)',
    ]);
    expect(records[1]!.err).toBe('Missing key for job b_0x.k0. moveToFinished');
    expect(records[2]!.repeated).toBe(299);
  });
});
