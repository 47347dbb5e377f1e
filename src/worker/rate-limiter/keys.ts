/**
 * Every Redis key and channel of a space's rate limiter, built here and nowhere else, from
 * the key module's builder (src/keys.ts). They share the space's hash tag (with its
 * updates queue and circuit), so a script that takes them all in KEYS runs on one Redis
 * Cluster node.
 */
import type { RateLimitSpec } from '../../config.js';
import { spaceKey } from '../../keys.js';

export interface LimiterKeys {
  /** State hash: pause, rate factor, margin, running totals. */
  state: string;
  /** One list of grants per window, in the order of the configured windows. */
  windows: string[];
  /** Pub/sub channel on which pauses are announced (a channel, not a key). */
  channel: string;
}

export function limiterKeys(
  prefix: string,
  space: string,
  limits: readonly RateLimitSpec[],
): LimiterKeys {
  return {
    state: spaceKey(prefix, space, 'ratelimit'),
    windows: limits.map((l) => spaceKey(prefix, space, 'ratelimit', 'w', String(l.durationMs))),
    channel: spaceKey(prefix, space, 'ratelimit', 'events'),
  };
}
