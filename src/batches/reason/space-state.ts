/**
 * Reading a space's circuit and rate-limiter state for explanations, without changing it.
 * The circuit breaker and the limiter own these hashes (src/worker/lua/circuit.ts,
 * src/worker/lua/rate-limit.ts, keys from src/worker/rate-limiter/keys.ts); this is the one
 * place that reads their fields from outside, so a change of their layout is a change here
 * only.
 */
import type { RateLimitSpec } from '../../config.js';
import type { RedisConnection } from '../../queues.js';
import { circuitKey } from '../../worker/circuit-breaker/store.js';
import { limiterKeys } from '../../worker/rate-limiter/keys.js';

export interface CircuitView {
  state: 'closed' | 'open' | 'half-open' | 'paused';
  /** Why a paused space is paused. */
  reason?: string;
  /** Epoch ms: when an open circuit (last) opened. */
  openedAt?: number;
  /** Epoch ms: the next probe (end of the cool-down, or of a paused space's wait). */
  nextProbeAt?: number;
}

export interface LimiterView {
  /** Epoch ms (Redis time): the space sends nothing before this (a 429 pause). */
  pausedUntil?: number;
  /** Epoch ms (Redis time): when a full window frees its oldest permits, if one is full. */
  nextSlotAt?: number;
  /** The full window, e.g. `12000/10s`. */
  fullWindow?: string;
  /** 429 episodes in a row not yet ended by a success. */
  streak: number;
  /** Rate factor after 429s (1 = the configured limit). */
  factor: number;
  /** Permits recorded in each configured window (its running total), in their order. */
  inWindows: number[];
}

export interface SpaceView {
  circuit: CircuitView;
  limiter: LimiterView;
  /** Redis time (epoch ms) of the read, to compare the above with. */
  nowMs: number;
}

function num(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Reads both hashes, the oldest grant of each window and Redis' clock in one round trip.
 * A window is full when its running total `n:<duration>` reaches its count times the rate
 * factor; it frees when its oldest grant leaves it.
 */
export async function readSpaceView(
  redis: RedisConnection,
  prefix: string,
  space: string,
  limits: readonly RateLimitSpec[],
): Promise<SpaceView> {
  const keys = limiterKeys(prefix, space, limits);
  const multi = redis
    .multi()
    .hmget(circuitKey(prefix, space), 'state', 'reason', 'openedAt', 'openUntil', 'nextProbeAt')
    .hmget(keys.state, 'pausedUntil', 'factor', 'streak', ...limits.map((l) => `n:${l.durationMs}`))
    .time();
  for (const key of keys.windows) multi.lindex(key, 0);
  const replies = await multi.exec();
  const at = <T>(i: number): T => {
    const [err, value] = replies?.[i] ?? [new Error('no reply'), undefined];
    if (err) throw err;
    return value as T;
  };
  const [state, reason, openedAt, openUntil, nextProbeAt] = at<(string | null)[]>(0);
  const [pausedUntil, factor, streak, ...totals] = at<(string | null)[]>(1);
  const [seconds, micros] = at<[string, string]>(2);
  const circuitState = (['open', 'half-open', 'paused'] as const).find((s) => s === state);
  const circuit: CircuitView = { state: circuitState ?? 'closed' };
  if (reason) circuit.reason = reason;
  if (circuit.state === 'open' || circuit.state === 'half-open') {
    const opened = num(openedAt);
    const until = num(openUntil);
    if (opened !== undefined) circuit.openedAt = opened;
    if (until !== undefined) circuit.nextProbeAt = until;
  }
  if (circuit.state === 'paused') {
    const next = num(nextProbeAt);
    if (next !== undefined) circuit.nextProbeAt = next;
  }
  const f = num(factor) ?? 1;
  const limiter: LimiterView = {
    streak: num(streak) ?? 0,
    factor: f,
    inWindows: totals.map((t) => num(t) ?? 0),
  };
  const paused = num(pausedUntil);
  if (paused !== undefined) limiter.pausedUntil = paused;
  limits.forEach((l, i) => {
    const oldest = num(at<string | null>(3 + i)?.split(' ')[0]);
    if ((num(totals[i]) ?? 0) < l.count * f || oldest === undefined) return;
    const frees = oldest + l.durationMs;
    if (limiter.nextSlotAt === undefined || frees > limiter.nextSlotAt) {
      limiter.nextSlotAt = frees;
      limiter.fullWindow = `${l.count}/${l.durationMs % 1000 === 0 ? `${l.durationMs / 1000}s` : `${l.durationMs}ms`}`;
    }
  });
  return { circuit, limiter, nowMs: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) };
}
