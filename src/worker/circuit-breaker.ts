/**
 * Per-space circuit breaker shared by every process, so that an outage pauses a space
 * instead of burning the retries of thousands of jobs.
 *
 * closed --(failureThreshold consecutive transient failures)--> open
 * open --(probe due; one caller across all processes claims it)--> half-open
 * half-open --(success)--> closed         half-open --(probe failed)--> open
 * any --(401/403)--> paused; paused --(resume(), or a periodic probe that succeeds)--> closed
 *
 * Probes start at a steady cadence, `probeIntervalMs` (750 ms) after the circuit opened or
 * after the start of the probe that failed, never doubling: the first success comes within
 * one interval plus one request's latency of the API coming back, however long the outage
 * was, for about 1.3 requests per second while it lasts. A paused space is probed the same
 * way every `pausedProbeMs` (1 s), until a probe succeeds or `confbulk resume`.
 *
 * The state lives in one Redis hash changed only by Lua scripts, so transitions are atomic
 * and exactly one process wins each (and logs it). Each process caches the state: callers
 * of a closed circuit pass without touching Redis, and a success touches Redis only when
 * this process may have to reset a count. The cache is refreshed by polling (fast while
 * not closed, slow while closed) and, with a subscriber, at once by pub/sub. Waiting
 * callers of one process share a single claim loop, so a backlog of waiting jobs costs one
 * Redis call per poll, not one per job.
 */
import { commandName } from '../cli/command-name.js';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RedisConnection } from '../queues.js';
import { silentLogger, type Logger } from '../logger.js';
import { CircuitBreakerClosedError } from './circuit-breaker/errors.js';
import {
  resolveOptions,
  type CircuitBreakerOptions,
  type CircuitState,
  type ResolvedCircuitBreakerOptions,
} from './circuit-breaker/options.js';
import {
  circuitChannel,
  circuitKey,
  CircuitStore,
  readSnapshot,
  resume,
  toState,
  type Snapshot,
} from './circuit-breaker/store.js';
import {
  CIRCUIT_STATE_GAUGE,
  type CircuitBreaker,
  type CircuitChangeInfo,
} from './circuit-breaker/types.js';
import { Waiters } from './waiters.js';

export type { CircuitBreakerOptions, CircuitState } from './circuit-breaker/options.js';
export {
  CIRCUIT_STATE_GAUGE,
  type CircuitBreaker,
  type CircuitChangeInfo,
} from './circuit-breaker/types.js';
export {
  CircuitBreakerClosedError,
  CIRCUIT_BREAKER_CLOSED_MESSAGE,
} from './circuit-breaker/errors.js';

class RedisCircuitBreaker extends EventEmitter implements CircuitBreaker {
  readonly space: string;
  private readonly o: ResolvedCircuitBreakerOptions;
  private readonly store: CircuitStore;
  private readonly log: Logger;
  private readonly waiters = new Waiters<{ probe: boolean }>();
  private readonly pending = new Set<Promise<unknown>>();
  private cached: CircuitState = 'closed';
  private readonly loaded: Promise<void>;
  /** Token of the probe permit this process holds, if any. */
  private probeToken = '';
  /** This process saw failures counted, so its next success must reset them. */
  private maybeFailures = false;
  private claiming = false;
  private wake: (() => void) | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * Changes heard on pub/sub so far. A read sent before a change was heard and answered
   * after it may predate the change (a poll that read `paused` just before a resume): its
   * state is not applied, the change heard is newer.
   */
  private heard = 0;
  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.store.channel || this.closed) return;
    try {
      const state = toState(message);
      this.heard += 1;
      this.learn(state, {});
    } catch {
      this.log.warn({ message }, 'ignoring an unexpected circuit message');
    }
  };

  constructor(options: CircuitBreakerOptions) {
    super();
    this.o = resolveOptions(options);
    this.space = this.o.space;
    this.log = (this.o.logger ?? silentLogger).child({
      component: 'circuit-breaker',
      space: this.space,
    });
    this.store = new CircuitStore(this.o.redis, this.o);
    this.o.metrics?.circuitState.set({ space: this.space }, CIRCUIT_STATE_GAUGE.closed);
    if (this.o.subscriber) this.subscribe(this.o.subscriber);
    this.loaded = this.poll();
  }

  async waitForPermission(signal?: AbortSignal): Promise<{ probe: boolean }> {
    if (this.closed) throw new CircuitBreakerClosedError(this.space);
    if (signal?.aborted) throw signal.reason;
    await this.loaded;
    if (signal?.aborted) throw signal.reason;
    if (this.cached === 'closed') return { probe: false };
    const waiting = this.waiters.wait(signal);
    void this.claimLoop();
    return waiting;
  }

  isOpen(): boolean {
    return this.cached !== 'closed';
  }

  async recordSuccess(): Promise<CircuitState> {
    // The common case, a success while closed with nothing to reset, stays in process; so
    // do successes of requests sent before the circuit opened.
    const nothingToDo =
      this.cached === 'closed' ? !this.maybeFailures : this.cached !== 'half-open';
    if (this.closed || (nothingToDo && !this.probeToken)) return this.cached;
    const token = this.takeProbe();
    this.maybeFailures = false;
    return this.safely('recording a success', async () => {
      const r = await this.track(this.store.success(token));
      if (r.transitioned) this.log.info('circuit closed: the API answers again');
      this.learn(r.state, {});
      return r.state;
    });
  }

  async recordTransientFailure(): Promise<CircuitState> {
    // Open, half-open or paused without our probe: the scripts would change nothing.
    if (this.closed || (this.cached !== 'closed' && !this.probeToken)) return this.cached;
    const token = this.takeProbe();
    return this.safely('recording a failure', async () => {
      const r = await this.track(this.store.failure(token));
      this.maybeFailures = r.failures > 0;
      if (r.transitioned && !token) {
        this.log.warn(
          { probeEveryMs: this.o.config.probeIntervalMs },
          'circuit opened: too many consecutive failures; probing the API until it answers',
        );
      }
      this.learn(r.state, { nextProbeInMs: r.transitioned ? r.nextProbeInMs : undefined });
      return r.state;
    });
  }

  async pauseForCredentials(reason: string): Promise<CircuitState> {
    if (this.closed || (this.cached === 'paused' && !this.probeToken)) return this.cached;
    const token = this.takeProbe();
    return this.safely('pausing the space', async () => {
      const r = await this.track(this.store.pause(reason, token));
      if (r.transitioned) {
        this.log.error(
          { reason, probeEveryMs: this.o.config.pausedProbeMs },
          `space paused: the API rejected the credentials; fix them and run \`${commandName()} resume --space ${this.space}\``,
        );
      }
      this.learn(r.state, { reason });
      return r.state;
    });
  }

  async releaseProbe(): Promise<void> {
    const token = this.takeProbe();
    if (!token || this.closed) return;
    try {
      await this.track(this.store.release(token));
    } catch (err) {
      this.log.warn({ err }, 'could not give back an unused probe permit; its lease ends it');
    }
    void this.claimLoop();
  }

  async resume(): Promise<CircuitState> {
    if (this.closed) throw new CircuitBreakerClosedError(this.space);
    this.probeToken = '';
    const previous = await this.track(this.store.resume());
    if (previous !== 'closed') this.log.info({ previous }, 'circuit resumed (closed)');
    this.learn('closed', {});
    return 'closed';
  }

  async state(): Promise<CircuitState> {
    const snapshot = await this.track(this.store.read());
    this.apply(snapshot);
    return snapshot.state;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pollTimer);
    this.wake?.();
    this.waiters.rejectAll(new CircuitBreakerClosedError(this.space));
    const sub = this.o.subscriber;
    if (sub) {
      sub.removeListener('message', this.onMessage);
      await sub.unsubscribe(this.store.channel).catch(() => undefined);
    }
    await Promise.allSettled([...this.pending]);
  }

  /**
   * One loop per process asks Redis on behalf of all waiting callers: a probe permit goes
   * to the oldest waiter, a closed circuit releases them all.
   */
  private async claimLoop(): Promise<void> {
    if (this.claiming) return;
    this.claiming = true;
    try {
      while (!this.closed && this.waiters.size > 0) {
        if (this.cached === 'closed') return this.waiters.resolveAll({ probe: false });
        let waitMs = this.o.pollMs;
        if (!this.probeToken) {
          const token = randomUUID();
          const heard = this.heard;
          const r = await this.track(this.store.claim(token));
          if (r.transitioned) this.log.debug('circuit half-open: probing the API');
          if (r.transitioned || heard === this.heard) this.learn(r.state, {});
          if (r.outcome === 'closed') return this.waiters.resolveAll({ probe: false });
          if (r.outcome === 'probe') {
            await this.handOverProbe(token);
            continue;
          }
          waitMs = Math.min(waitMs, Math.max(1, r.waitMs));
        }
        await this.sleep(waitMs);
      }
    } catch (err) {
      this.log.warn({ err }, 'circuit claim failed; retrying at the next poll');
      if (!this.closed) setTimeout(() => void this.claimLoop(), this.o.pollMs);
    } finally {
      this.claiming = false;
    }
  }

  private async handOverProbe(token: string): Promise<void> {
    this.probeToken = token;
    if (this.waiters.resolveFirst({ probe: true })) return;
    this.probeToken = '';
    await this.track(this.store.release(token));
  }

  /** Sleeps until `ms` passed or the cached state changed. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private takeProbe(): string {
    const token = this.probeToken;
    this.probeToken = '';
    return token;
  }

  /** Updates the cached state; emits, records and wakes waiters on a change. */
  private learn(to: CircuitState, info: CircuitChangeInfo): void {
    if (this.closed) return;
    const from = this.cached;
    if (to === 'closed') this.probeToken = '';
    if (from === to) return;
    this.cached = to;
    this.o.metrics?.circuitState.set({ space: this.space }, CIRCUIT_STATE_GAUGE[to]);
    this.log.debug({ from, to }, 'circuit state seen changing');
    this.emit('change', from, to, info);
    this.schedulePoll();
    this.wake?.();
    if (this.waiters.size > 0) void this.claimLoop();
  }

  private apply(snapshot: Snapshot): void {
    if (snapshot.state === 'closed' && snapshot.failures > 0) this.maybeFailures = true;
    this.learn(snapshot.state, { reason: snapshot.reason });
  }

  private async poll(): Promise<void> {
    try {
      const heard = this.heard;
      const snapshot = await this.track(this.store.read());
      if (heard === this.heard) this.apply(snapshot);
    } catch (err) {
      if (!this.closed) this.log.warn({ err }, 'reading the circuit state failed');
    }
    this.schedulePoll();
  }

  private schedulePoll(): void {
    if (this.closed) return;
    clearTimeout(this.pollTimer);
    const ms = this.cached === 'closed' ? this.o.closedPollMs : this.o.pollMs;
    this.pollTimer = setTimeout(() => void this.poll(), ms);
    this.pollTimer.unref();
  }

  private subscribe(sub: RedisConnection): void {
    sub.on('message', this.onMessage);
    sub.subscribe(this.store.channel).catch((err: unknown) => {
      this.log.warn({ err }, 'subscribing to circuit changes failed; relying on polling');
    });
  }

  /** Runs a recording call; a Redis failure is logged and the cached state returned. */
  private async safely(what: string, fn: () => Promise<CircuitState>): Promise<CircuitState> {
    try {
      return await fn();
    } catch (err) {
      if (!this.closed) this.log.warn({ err }, `circuit breaker: ${what} failed`);
      return this.cached;
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const forget = (): void => void this.pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

/** Creates the circuit breaker of one space. @throws TypeError naming a bad option. */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  return new RedisCircuitBreaker(options);
}

/**
 * Closes a space's circuit from any state, for `confbulk resume --space NAME`. Running
 * breakers learn of it at once (pub/sub) or at their next poll. Returns the previous state.
 */
export function resumeSpace(
  redis: RedisConnection,
  prefix: string,
  space: string,
): Promise<CircuitState> {
  return resume(redis, circuitKey(prefix, space), circuitChannel(prefix, space));
}

/** Reads a space's circuit state (for status commands and dashboards). */
export async function readCircuitState(
  redis: RedisConnection,
  prefix: string,
  space: string,
): Promise<CircuitState> {
  return (await readSnapshot(redis, circuitKey(prefix, space))).state;
}
