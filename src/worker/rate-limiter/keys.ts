/**
 * Every Redis key and channel of a space's rate limiter, built here and nowhere else. They
 * share the space's prefix (a hash tag), so a script that takes them all in KEYS runs on
 * one Redis Cluster node.
 */
import type { RateLimitSpec } from '../../config.js';
import { dataKey } from '../../queues.js';

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
    state: dataKey(prefix, 'ratelimit', space),
    windows: limits.map((l) => dataKey(prefix, 'ratelimit', space, 'w', String(l.durationMs))),
    channel: dataKey(prefix, 'ratelimit', space, 'events'),
  };
}
