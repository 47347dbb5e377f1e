/**
 * The reason of one batch from the facts gathered for it: a pure function, so each reason
 * and its wording is tested without staging it. The first that holds wins: failed, no
 * worker, listing retry, paused space, open circuit, rate window.
 */
import { commandName } from '../../cli/command-name.js';
import type { Batch } from '../../types.js';
import type { SpaceView } from './space-state.js';
import type { BatchReason } from './types.js';

/** A listing failure the fan-out noted on the batch. */
export interface ListingNote {
  message: string;
  /** Epoch ms of the last failed attempt, and of the first. */
  at: number;
  since: number;
  attempt: number;
  attempts: number;
}

export interface BatchFacts {
  /** Epoch ms of this process when the facts were read. */
  now: number;
  space: SpaceView;
  /** Workers connected to the space's updates queue. */
  workers: number;
  listing?: ListingNote;
  /** Epoch ms of the fan-out's next attempt, when it waits for one. */
  listingRetryAt?: number;
}

/** A full window that frees sooner than this is not worth a reason. */
const RATE_WAIT_MIN_MS = 100;

const iso = (ms: number): string => new Date(ms).toISOString();
const clock = (ms: number): string => iso(ms).slice(11, 19);

/** The reason of `batch`, or undefined when nothing holds it back. */
export function explainBatch(batch: Batch, facts: BatchFacts): BatchReason | undefined {
  const now = facts.now;
  const seen = iso(now);
  if (batch.state === 'completed') return undefined;
  if (batch.state === 'failed') {
    return {
      code: 'failed',
      message: `failed: ${batch.error ?? 'no reason recorded'}`,
      lastTrueAt: batch.finishedAt ?? seen,
      ...(batch.finishedAt && { since: batch.finishedAt }),
    };
  }
  const cmd = commandName();
  if (facts.workers === 0) {
    return {
      code: 'no-worker',
      message:
        `no worker serves space ${batch.space}: the batch waits until a worker with that ` +
        `space profile connects (start one: ${cmd} worker)`,
      lastTrueAt: seen,
      command: `${cmd} worker`,
    };
  }
  // Redis times (circuit, limiter) as this process's clock.
  const local = (redisMs: number): number => now + (redisMs - facts.space.nowMs);
  const { circuit, limiter } = facts.space;
  if (batch.state === 'listing' && facts.listing) {
    const l = facts.listing;
    const next = facts.listingRetryAt;
    return {
      code: 'listing-retry',
      message:
        `listing participants failed (attempt ${l.attempt} of ${l.attempts}): ${l.message}` +
        (next !== undefined ? `; next attempt at ${clock(next)} UTC` : ''),
      since: iso(l.since),
      lastTrueAt: iso(l.at),
      ...(next !== undefined && { nextAt: iso(next) }),
    };
  }
  if (circuit.state === 'paused') {
    const command = `${cmd} resume --space ${batch.space}`;
    return {
      code: 'space-paused',
      message:
        `space ${batch.space} is paused: the API rejected its credentials` +
        `${circuit.reason ? ` (${circuit.reason})` : ''}; fix them, then run: ${command}`,
      lastTrueAt: seen,
      ...(circuit.nextProbeAt !== undefined && { nextAt: iso(local(circuit.nextProbeAt)) }),
      command,
    };
  }
  if (circuit.state === 'open' || circuit.state === 'half-open') {
    const since = circuit.openedAt !== undefined ? local(circuit.openedAt) : undefined;
    const next = circuit.nextProbeAt !== undefined ? local(circuit.nextProbeAt) : undefined;
    return {
      code: 'circuit-open',
      message:
        `the circuit of space ${batch.space} is ${circuit.state} after failed requests in a row` +
        (since !== undefined ? ` since ${clock(since)} UTC` : '') +
        (circuit.state === 'half-open'
          ? '; a probe request is in flight'
          : next !== undefined
            ? `; next probe at ${clock(Math.max(now, next))} UTC`
            : ''),
      ...(since !== undefined && { since: iso(since) }),
      lastTrueAt: seen,
      ...(next !== undefined && { nextAt: iso(Math.max(now, next)) }),
    };
  }
  if (batch.state === 'running' && batch.counts.pending > 0) {
    const paused = limiter.pausedUntil !== undefined ? local(limiter.pausedUntil) : 0;
    if (paused > now) {
      return {
        code: 'rate-limited',
        message: `space ${batch.space} pauses after a 429 (too many requests) until ${clock(paused)} UTC`,
        lastTrueAt: seen,
        nextAt: iso(paused),
      };
    }
    const slot = limiter.nextSlotAt !== undefined ? local(limiter.nextSlotAt) : 0;
    if (slot - now > RATE_WAIT_MIN_MS) {
      return {
        code: 'rate-limited',
        message:
          `waiting for the rate window of space ${batch.space}` +
          `${limiter.fullWindow ? ` (${limiter.fullWindow} used up)` : ''}: the next permit ` +
          `frees in ${((slot - now) / 1000).toFixed(1)} s`,
        lastTrueAt: seen,
        nextAt: iso(slot),
      };
    }
  }
  return undefined;
}
