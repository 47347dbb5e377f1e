/**
 * Reading a space's circuit and rate-limiter state for explanations, without changing it.
 * The circuit breaker and the limiter own these hashes (src/worker/lua/circuit.ts,
 * src/worker/lua/rate-limit.ts); this is the one place that reads their fields from
 * outside, so a change of their layout is a change here only.
 */
import type { Redis } from 'ioredis';
import { dataKey } from '../../queues.js';
import { circuitKey } from '../../worker/circuit-breaker/store.js';

export interface CircuitView {
  state: 'closed' | 'open' | 'half-open' | 'paused';
  /** Why a paused space is paused. */
  reason?: string;
  /** Epoch ms: when an open circuit opened (end of cool-down minus the cool-down). */
  openedAt?: number;
  /** Epoch ms: the next probe (end of the cool-down, or of a paused space's wait). */
  nextProbeAt?: number;
}

export interface LimiterView {
  /** Epoch ms (Redis time): the space sends nothing before this (a 429 pause). */
  pausedUntil?: number;
  /** Epoch ms (Redis time): the next free slot of the rate window. */
  nextSlotAt?: number;
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

/** The key of a space's limiter hash (as src/worker/rate-limiter/store.ts builds it). */
function limiterKey(prefix: string, space: string): string {
  return dataKey(prefix, 'ratelimit', space);
}

/** Reads both hashes and Redis' clock in one round trip. */
export async function readSpaceView(
  redis: Redis,
  prefix: string,
  space: string,
): Promise<SpaceView> {
  const replies = await redis
    .multi()
    .hmget(circuitKey(prefix, space), 'state', 'reason', 'openUntil', 'cooldown', 'nextProbeAt')
    .hmget(limiterKey(prefix, space), 'pausedUntil', 'tat')
    .time()
    .exec();
  const at = <T>(i: number): T => {
    const [err, value] = replies?.[i] ?? [new Error('no reply'), undefined];
    if (err) throw err;
    return value as T;
  };
  const [state, reason, openUntil, cooldown, nextProbeAt] = at<(string | null)[]>(0);
  const [pausedUntil, tat] = at<(string | null)[]>(1);
  const [seconds, micros] = at<[string, string]>(2);
  const circuitState = (['open', 'half-open', 'paused'] as const).find((s) => s === state);
  const circuit: CircuitView = { state: circuitState ?? 'closed' };
  if (reason) circuit.reason = reason;
  const until = num(openUntil);
  const cool = num(cooldown);
  if (circuit.state === 'open' || circuit.state === 'half-open') {
    if (until !== undefined && cool !== undefined) circuit.openedAt = until - cool;
    if (until !== undefined) circuit.nextProbeAt = until;
  }
  if (circuit.state === 'paused') {
    const next = num(nextProbeAt);
    if (next !== undefined) circuit.nextProbeAt = next;
  }
  const limiter: LimiterView = {};
  const paused = num(pausedUntil);
  if (paused !== undefined) limiter.pausedUntil = paused;
  const slot = num(tat);
  if (slot !== undefined) limiter.nextSlotAt = slot;
  return { circuit, limiter, nowMs: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) };
}
