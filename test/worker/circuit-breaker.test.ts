import { Writable } from 'node:stream';
import type { RedisConnection } from '../../src/queues.js';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { spaceKey } from '../../src/keys.js';
import {
  CircuitBreakerClosedError,
  createCircuitBreaker,
  readCircuitState,
  resumeSpace,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
} from '../../src/worker/circuit-breaker.js';
import { testRedis, withRedis } from '../helpers/redis.js';

type Extra = Partial<Omit<CircuitBreakerOptions, 'redis' | 'prefix' | 'space'>> & {
  subscribe?: boolean;
};

const config = { failureThreshold: 3, probeIntervalMs: 150, pausedProbeMs: 200 };

/** Breakers on separate connections, as separate processes would have them. */
async function withBreakers<T>(
  specs: Extra[],
  fn: (breakers: CircuitBreaker[], redis: RedisConnection, prefix: string) => Promise<T>,
): Promise<T> {
  return withRedis(async (redis, prefix) => {
    const connections: RedisConnection[] = [];
    const breakers: CircuitBreaker[] = [];
    try {
      for (const { subscribe, ...spec } of specs) {
        const own = testRedis({ maxRetriesPerRequest: null });
        const subscriber = subscribe ? testRedis() : undefined;
        connections.push(own, ...(subscriber ? [subscriber] : []));
        breakers.push(
          createCircuitBreaker({
            redis: own,
            subscriber,
            prefix,
            space: 'acme',
            config,
            pollMs: 50,
            ...spec,
          }),
        );
      }
      return await fn(breakers, redis, prefix);
    } finally {
      await Promise.all(breakers.map((b) => b.close()));
      for (const c of connections) c.disconnect();
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Tracked {
  settled: boolean;
  probe?: boolean;
  at?: number;
  error?: unknown;
}

/** Starts a wait for permission and records how it ends. */
function track(
  breaker: CircuitBreaker,
  signal?: AbortSignal,
): Tracked & { promise: Promise<void> } {
  const t: Tracked & { promise: Promise<void> } = { settled: false, promise: Promise.resolve() };
  t.promise = breaker.waitForPermission(signal).then(
    (p) => {
      t.settled = true;
      t.probe = p.probe;
      t.at = Date.now();
    },
    (err: unknown) => {
      t.error = err;
    },
  );
  return t;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

function captureLogs(): {
  logger: ReturnType<typeof createLogger>;
  lines: Array<Record<string, unknown>>;
} {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

/**
 * Least time to see elapse for a 200 ms period: the test's timestamps are taken after the
 * call that started the period returned, while Redis started its timer before replying, so a
 * busy machine's round trip is allowed for.
 */
const MIN_ELAPSED_200MS = 150;

/**
 * How late after it became due a probe may be claimed, measured in Redis time (the times
 * the scripts store), so that the test's own scheduling does not count: the waiting
 * process wakes at the due time (one timer) and claims with one round trip.
 */
const CLAIM_SLACK_MS = 120;

async function times(redis: RedisConnection, prefix: string): Promise<Record<string, number>> {
  const key = spaceKey(prefix, 'acme', 'circuit');
  const h = await redis.hgetall(key);
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
}

describe('CircuitBreaker', () => {
  it('opens at the threshold of consecutive failures counted across instances', async () => {
    await withBreakers([{}, { subscribe: true }], async ([a, b]) => {
      const changes: Array<[CircuitState, CircuitState]> = [];
      b!.on('change', (from, to) => changes.push([from, to]));
      expect(await a!.recordTransientFailure()).toBe('closed');
      expect(await a!.recordSuccess()).toBe('closed'); // resets the count
      expect(await a!.recordTransientFailure()).toBe('closed');
      expect(await b!.recordTransientFailure()).toBe('closed');
      expect(await a!.recordTransientFailure()).toBe('open');
      expect(await b!.state()).toBe('open');
      expect(changes).toContainEqual(['closed', 'open']);
      const waiting = track(a!);
      await sleep(50);
      expect(waiting.settled).toBe(false);
    });
  });

  it('gives exactly one probe among the waiters of all instances; its success releases all', async () => {
    await withBreakers([{}, { subscribe: true }], async ([a, b], redis, prefix) => {
      for (let i = 0; i < 3; i++) await a!.recordTransientFailure();
      const openedAt = Date.now();
      expect(await b!.state()).toBe('open'); // b's cache may lag by a message or a poll
      const waits = [track(a!), track(a!), track(a!), track(b!), track(b!), track(b!)];
      await until(() => waits.some((w) => w.settled));
      await sleep(150);
      const probes = waits.filter((w) => w.settled);
      expect(probes).toHaveLength(1);
      expect(probes[0]!.probe).toBe(true);
      // The 150 ms cool-down started in Redis before `openedAt` was taken: allow the round trip.
      expect(probes[0]!.at! - openedAt).toBeGreaterThanOrEqual(100);
      const t = await times(redis, prefix);
      expect(t.probeAt! - t.openedAt!).toBeGreaterThanOrEqual(150);
      expect(t.probeAt! - t.openedAt!).toBeLessThan(150 + CLAIM_SLACK_MS);
      const prober = waits.indexOf(probes[0]!) < 3 ? a! : b!;
      expect(await prober.state()).toBe('half-open');
      expect(await prober.recordSuccess()).toBe('closed');
      await Promise.all(waits.map((w) => w.promise));
      expect(waits.filter((w) => w.probe)).toHaveLength(1);
      expect(await a!.waitForPermission()).toEqual({ probe: false });
    });
  });

  it('probes an open circuit at a steady cadence, never backing off, within bounds in Redis time', async () => {
    await withBreakers(
      [{ config: { ...config, failureThreshold: 1, probeIntervalMs: 300 } }, {}],
      async ([cb, other], redis, prefix) => {
        await cb!.recordTransientFailure();
        let due = (await times(redis, prefix)).openUntil!;
        expect(due - (await times(redis, prefix)).openedAt!).toBeCloseTo(300, 3);
        for (let i = 0; i < 4; i++) {
          expect(await cb!.waitForPermission()).toEqual({ probe: true });
          const t = await times(redis, prefix);
          // Claimed when due, give or take one timer and one round trip.
          expect(t.probeAt! - due).toBeGreaterThanOrEqual(0);
          expect(t.probeAt! - due).toBeLessThan(CLAIM_SLACK_MS);
          // Only this probe: the other instance waits (and stops waiting before the next).
          expect(await other!.state()).toBe('half-open');
          const controller = new AbortController();
          const waiting = track(other!, controller.signal);
          await sleep(20);
          expect(waiting.settled).toBe(false);
          controller.abort(new Error('done'));
          await waiting.promise;
          expect(await cb!.recordTransientFailure()).toBe('open');
          // The next probe is due one interval after this one started (or at once if it took
          // longer), never after a growing cool-down.
          const after = await times(redis, prefix);
          expect(after.openUntil).toBeCloseTo(Math.max(t.probeAt! + 300, after.openedAt!), 3);
          due = after.openUntil!;
        }
        expect(await cb!.recordSuccess()).toBe('open');
        await cb!.resume();
        expect(await redis.exists(spaceKey(prefix, 'acme', 'circuit'))).toBe(0);
      },
    );
  });

  it('pauses for credentials (logging once across instances) until resumed', async () => {
    const { logger, lines } = captureLogs();
    const metrics = createMetrics();
    const specs: Extra[] = [{ logger }, { logger, subscribe: true, metrics }];
    await withBreakers(specs, async ([a, b], redis, prefix) => {
      const results = await Promise.all([
        a!.pauseForCredentials('401 from the API'),
        b!.pauseForCredentials('401 again'),
      ]);
      expect(results).toEqual(['paused', 'paused']);
      expect(lines.filter((l) => l.level === 50)).toHaveLength(1);
      expect((await metrics.circuitState.get()).values[0]?.value).toBe(3);
      const waiting = track(b!);
      await sleep(100);
      expect(waiting.settled).toBe(false);
      expect(await resumeSpace(redis, prefix, 'acme')).toBe('paused');
      await waiting.promise;
      expect(waiting.probe).toBe(false);
      expect(await readCircuitState(redis, prefix, 'acme')).toBe('closed');
      // The gauge follows what this instance sees; a poll answered after the resume was
      // heard but sent before it is not applied, so it reads closed at once.
      expect((await metrics.circuitState.get()).values[0]?.value).toBe(0);
    });
  });

  it('probes a paused space every pausedProbeMs, once at a time', async () => {
    await withBreakers([{}, {}], async ([a, b], redis, prefix) => {
      await a!.pauseForCredentials('401');
      const pausedDue = (await times(redis, prefix)).nextProbeAt!;
      const pausedAt = Date.now();
      expect(await b!.state()).toBe('paused');
      const waits = [track(a!), track(a!), track(b!), track(b!)];
      await until(() => waits.some((w) => w.settled));
      const first = waits.find((w) => w.settled)!;
      expect(first.probe).toBe(true);
      expect(first.at! - pausedAt).toBeGreaterThanOrEqual(MIN_ELAPSED_200MS);
      const firstAt = (await times(redis, prefix)).probeAt!;
      expect(firstAt - pausedDue).toBeGreaterThanOrEqual(0);
      expect(firstAt - pausedDue).toBeLessThan(CLAIM_SLACK_MS);
      const prober = waits.indexOf(first) < 2 ? a! : b!;
      // Rejected again: still paused, the next probe comes one period later.
      expect(await prober.pauseForCredentials('401')).toBe('paused');
      const rejectedAt = Date.now();
      await until(() => waits.filter((w) => w.settled).length === 2);
      const second = waits.filter((w) => w.settled && w !== first)[0]!;
      expect(second.probe).toBe(true);
      expect(second.at! - rejectedAt).toBeGreaterThanOrEqual(MIN_ELAPSED_200MS - 50);
      // One period after the first probe started, in Redis time.
      const secondAt = (await times(redis, prefix)).probeAt!;
      expect(secondAt - firstAt).toBeGreaterThanOrEqual(200);
      expect(secondAt - firstAt).toBeLessThan(200 + CLAIM_SLACK_MS);
      const prober2 = waits.indexOf(second) < 2 ? a! : b!;
      expect(await prober2.recordSuccess()).toBe('closed');
      await Promise.all(waits.map((w) => w.promise));
      expect(waits.filter((w) => w.probe)).toHaveLength(2);
    });
  });

  it('hands the probe to another instance when the prober never reports (lease expiry)', async () => {
    const spec: Extra = {
      config: { ...config, failureThreshold: 1, probeIntervalMs: 100 },
      probeLeaseMs: 200,
    };
    await withBreakers([spec, spec], async ([a, b], redis, prefix) => {
      await a!.recordTransientFailure();
      expect(await a!.waitForPermission()).toEqual({ probe: true });
      const claimedAt = Date.now();
      const first = await times(redis, prefix);
      await a!.close(); // the prober's process dies without reporting
      expect(await b!.state()).toBe('half-open');
      expect(await b!.waitForPermission()).toEqual({ probe: true });
      expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(MIN_ELAPSED_200MS);
      const second = (await times(redis, prefix)).probeAt!;
      expect(second - first.probeUntil!).toBeGreaterThanOrEqual(0);
      expect(second - first.probeUntil!).toBeLessThan(CLAIM_SLACK_MS);
      expect(await b!.recordSuccess()).toBe('closed');
    });
  });

  it('hands an unused probe permit on at once when its caller gives it back', async () => {
    const spec: Extra = {
      config: { ...config, failureThreshold: 1, probeIntervalMs: 100 },
      probeLeaseMs: 60_000,
    };
    await withBreakers([spec, spec], async ([a, b]) => {
      await a!.recordTransientFailure();
      expect(await a!.waitForPermission()).toEqual({ probe: true });
      expect(await b!.state()).toBe('half-open');
      const other = track(b!);
      await sleep(150);
      expect(other.settled).toBe(false);
      // The caller will not send after all (superseded): the lease need not run out.
      await a!.releaseProbe();
      await other.promise;
      expect(other.probe).toBe(true);
      expect(await b!.recordSuccess()).toBe('closed');
    });
  });

  it('rejects a waiter with the abort reason and keeps the others waiting', async () => {
    await withBreakers(
      [{ config: { ...config, failureThreshold: 1, probeIntervalMs: 5000 } }],
      async ([cb]) => {
        await cb!.recordTransientFailure();
        const controller = new AbortController();
        const reason = new Error('shutting down');
        const aborted = cb!.waitForPermission(controller.signal);
        const other = track(cb!);
        controller.abort(reason);
        await expect(aborted).rejects.toBe(reason);
        await expect(cb!.waitForPermission(AbortSignal.abort(reason))).rejects.toBe(reason);
        await sleep(50);
        expect(other.settled).toBe(false);
        await cb!.close();
        await cb!.close();
        await other.promise;
        expect(other.error).toBeInstanceOf(CircuitBreakerClosedError);
      },
    );
  });

  it('names the option and what is allowed in a bad option', () => {
    const redis = testRedis({ lazyConnect: true });
    const base = { redis, prefix: 'x', space: 'acme', config };
    expect(() =>
      createCircuitBreaker({ ...base, config: { ...config, failureThreshold: 0 } }),
    ).toThrow(/`config.failureThreshold`.*from 1/);
    expect(() => createCircuitBreaker({ ...base, pollMs: 0.5 })).toThrow(/`pollMs`/);
    redis.disconnect();
  });
});
