/**
 * The Redis side of the circuit breaker: one hash per space, changed only by the Lua
 * transitions in src/worker/lua/circuit.ts so that they are atomic across processes.
 */
import type { RedisConnection } from '../../queues.js';
import { spaceKey } from '../../keys.js';
import {
  claimScript,
  failureScript,
  pauseScript,
  releaseScript,
  resumeScript,
  successScript,
} from '../lua/circuit.js';
import { num, str } from '../lua/script.js';
import {
  CIRCUIT_STATES,
  type CircuitState,
  type ResolvedCircuitBreakerOptions,
} from './options.js';

export interface Transition {
  state: CircuitState;
  /** True when this call made the transition (its process logs it). */
  transitioned: boolean;
}

export interface FailureResult extends Transition {
  /** Consecutive failures counted so far (closed), 0 otherwise. */
  failures: number;
  /** When this call opened the circuit: ms until its next probe may start; 0 otherwise. */
  nextProbeInMs: number;
}

export interface ClaimResult extends Transition {
  outcome: 'probe' | 'closed' | 'wait';
  /** When `wait`: ms until asking again may give a different answer. */
  waitMs: number;
}

export interface Snapshot {
  state: CircuitState;
  failures: number;
  reason: string | undefined;
}

export function circuitKey(prefix: string, space: string): string {
  return spaceKey(prefix, space, 'circuit');
}

export function circuitChannel(prefix: string, space: string): string {
  return spaceKey(prefix, space, 'circuit', 'events');
}

export function toState(value: unknown): CircuitState {
  const state = CIRCUIT_STATES.find((s) => s === value);
  if (!state) throw new TypeError(`unexpected circuit state in Redis: ${JSON.stringify(value)}`);
  return state;
}

function transition(reply: unknown): Transition {
  return { state: toState(str(reply, 0)), transitioned: str(reply, 1) === '1' };
}

/** Reads a space's circuit without changing it. */
export async function readSnapshot(redis: RedisConnection, key: string): Promise<Snapshot> {
  const [state, failures, reason] = await redis.hmget(key, 'state', 'failures', 'reason');
  return {
    state: toState(state ?? 'closed'),
    failures: Number(failures ?? 0),
    reason: reason ?? undefined,
  };
}

/** Closes a space's circuit from any state; returns the state it was in. */
export async function resume(
  redis: RedisConnection,
  key: string,
  channel: string,
): Promise<CircuitState> {
  const reply = await resumeScript.run(redis, [key], [channel]);
  return toState(str(reply, 2));
}

export class CircuitStore {
  readonly key: string;
  readonly channel: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly o: ResolvedCircuitBreakerOptions,
  ) {
    this.key = circuitKey(o.prefix, o.space);
    this.channel = circuitChannel(o.prefix, o.space);
  }

  read(): Promise<Snapshot> {
    return readSnapshot(this.redis, this.key);
  }

  async failure(token: string): Promise<FailureResult> {
    const { config } = this.o;
    const reply = await failureScript.run(
      this.redis,
      [this.key],
      [
        config.failureThreshold,
        config.probeIntervalMs,
        token,
        config.pausedProbeMs,
        this.o.failureMemoryMs,
        this.channel,
      ],
    );
    return { ...transition(reply), failures: num(reply, 2), nextProbeInMs: num(reply, 3) };
  }

  async success(token: string): Promise<Transition> {
    return transition(await successScript.run(this.redis, [this.key], [token, this.channel]));
  }

  async claim(token: string): Promise<ClaimResult> {
    const reply = await claimScript.run(
      this.redis,
      [this.key],
      [token, this.o.probeLeaseMs, this.channel],
    );
    const outcome = str(reply, 2);
    if (outcome !== 'probe' && outcome !== 'closed' && outcome !== 'wait') {
      throw new TypeError(`unexpected circuit claim outcome: ${outcome}`);
    }
    return { ...transition(reply), outcome, waitMs: num(reply, 3) };
  }

  async release(token: string): Promise<void> {
    await releaseScript.run(this.redis, [this.key], [token]);
  }

  async pause(reason: string, token: string): Promise<Transition> {
    const reply = await pauseScript.run(
      this.redis,
      [this.key],
      [reason, this.o.config.pausedProbeMs, token, this.channel],
    );
    return transition(reply);
  }

  resume(): Promise<CircuitState> {
    return resume(this.redis, this.key, this.channel);
  }
}
