/**
 * Every Redis key confbulk uses is named here (the table in docs/design.md lists them).
 *
 * Keys are grouped by hash tag, so that Redis Cluster spreads them by what they serve and a
 * Lua script only ever touches keys of one tag (one slot):
 *
 *   {<prefix>:space:<space>}  one per space profile: its updates queue (BullMQ), rate
 *                             limiter and circuit breaker, i.e. the hot path of sending
 *   {<prefix>:batches}        batches, their members and outcomes, intents and in-flight
 *                             claims, idempotency keys, the completions set, and the
 *                             dead-letter queue (BullMQ) with its replay outbox: taking a
 *                             dead letter for a replay is one script on the entry and on
 *                             its batch
 *   {<prefix>:fanout}         the fan-out queue (BullMQ)
 *   {<prefix>:schedules}      the schedules queue and its job schedulers (BullMQ), skipped runs
 *   {<prefix>:webhooks}       the completion-webhooks queue (BullMQ)
 *   {<prefix>:dead-letters}   attempt histories of failing jobs
 *   {<prefix>:api}            API tokens and the dashboard's login-attempt counters
 *   {<prefix>:sends}          send records of announcements (at most once)
 *
 * `<prefix>` is CONFBULK_PREFIX (default `confbulk`), a plain name that `checkPrefix`
 * validates. Every key starts with `{<prefix>:`, which is what `keyPattern` matches.
 */
import { ConfigError } from './errors.js';
import { QUEUE_NAMES } from './queues.js';

/** What CONFBULK_PREFIX may be: it goes inside hash tags and SCAN patterns. */
export const PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$/;

export const DEFAULT_PREFIX = 'confbulk';

/**
 * Returns `prefix` when it is a plain name, else throws a ConfigError naming `source`.
 * Braces, colons, `*` and spaces are refused: confbulk builds its own hash tags around the
 * prefix, and a prefix carrying braces would put every key in one slot again.
 */
export function checkPrefix(prefix: string, source = 'CONFBULK_PREFIX'): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError(
      `${source} '${prefix}' must be a plain name of 1-48 letters, digits, '.', '_' or '-' ` +
        `starting with a letter or digit (e.g. confbulk): confbulk adds the hash tags itself ` +
        `({confbulk:space:<space>}, {confbulk:batches}, ...)`,
      source,
    );
  }
  return prefix;
}

/** The parts of the system that have a hash tag of their own, besides the spaces. */
export type KeyArea =
  'batches' | 'fanout' | 'schedules' | 'webhooks' | 'dead-letters' | 'api' | 'sends';

/** Hash tag of one space: its updates queue, limiter and circuit. */
export function spaceTag(prefix: string, space: string): string {
  return `{${prefix}:space:${space}}`;
}

/** Hash tag of one area (batches, a shared queue). */
export function areaTag(prefix: string, area: KeyArea): string {
  return `{${prefix}:${area}}`;
}

/** A confbulk data key (not BullMQ's) of a space: `{p:space:s}:data:<parts>`. */
export function spaceKey(prefix: string, space: string, ...parts: string[]): string {
  return [spaceTag(prefix, space), 'data', ...parts].join(':');
}

/** A confbulk data key (not BullMQ's) of an area: `{p:area}:data:<parts>`. */
export function areaKey(prefix: string, area: KeyArea, ...parts: string[]): string {
  return [areaTag(prefix, area), 'data', ...parts].join(':');
}

const UPDATES = /^updates\.(.+)$/;

/**
 * BullMQ `prefix` of a queue: its own hash tag, as BullMQ on Redis Cluster needs (each
 * queue's keys in one slot). Updates queues sit under their space's tag; every other queue
 * under `{<prefix>:<queue name>}` (the fan-out, schedules, webhooks and dead-letter queues
 * are the areas of the same names, and an extra worker's queue gets a tag of its own).
 */
export function queuePrefix(prefix: string, queueName: string): string {
  const space = UPDATES.exec(queueName)?.[1];
  if (space !== undefined) return spaceTag(prefix, space);
  // Taking a dead letter for a replay is one script on the entry and its batch's outcome.
  if (queueName === QUEUE_NAMES.deadLetters) return areaTag(prefix, 'batches');
  return `{${prefix}:${queueName}}`;
}

/** SCAN pattern of every key under `prefix` (on a cluster, run it on each primary). */
export function keyPattern(prefix: string): string {
  return `{${prefix}:*`;
}

/** Fields whose latest intent wins, each with the parameters that travel with it. */
export const INTENT_FIELDS = ['Muted', 'Hold', 'HoldUrl', 'WaitUrl', 'Coaching'] as const;
export type IntentField = (typeof INTENT_FIELDS)[number];

/** Keys of batches and intents, all under `{<prefix>:batches}`. */
export class ProducerKeys {
  constructor(readonly prefix: string) {}

  /** Hash: one batch. */
  batch(id: string): string {
    return areaKey(this.prefix, 'batches', 'batch', id);
  }

  /** Set: call SIDs enqueued by a batch's fan-out (its `total` is their count). */
  members(id: string): string {
    return `${this.batch(id)}:members`;
  }

  /**
   * Hash: job key -> terminal outcome, so each job counts once; `replaying:<job id>` while
   * a replay of the job's dead letter is pending.
   */
  outcomes(id: string): string {
    return `${this.batch(id)}:outcomes`;
  }

  /** Hash: job key -> how many dead-letter replays of it were taken (their `.r<n>`). */
  replayCounters(id: string): string {
    return `${this.batch(id)}:replay-seq`;
  }

  /** Sorted set: batch ids by creation time. */
  batchIndex(): string {
    return areaKey(this.prefix, 'batches', 'batches');
  }

  /** String: idempotency key -> batch id. */
  idempotency(key: string): string {
    return areaKey(this.prefix, 'batches', 'idempotency', key);
  }

  /** Counter of intent versions. */
  intentCounter(): string {
    return areaKey(this.prefix, 'batches', 'intent-seq');
  }

  /** Hash: field -> newest conference-wide intent version, and `<field>:b` -> its batch id. */
  conferenceIntents(conferenceSid: string): string {
    return areaKey(this.prefix, 'batches', 'intent', conferenceSid, 'conference');
  }

  /**
   * Set: the `except` call SIDs of the batch whose conference-wide intent holds `field` of
   * the conference (the batch `<field>:b` of `conferenceIntents` names); replaced whenever
   * a newer batch takes the field over.
   */
  conferenceExcept(conferenceSid: string, field: IntentField): string {
    return areaKey(this.prefix, 'batches', 'intent', conferenceSid, 'except', field);
  }

  /** The `conferenceExcept` sets of a conference, in INTENT_FIELDS order. */
  conferenceExcepts(conferenceSid: string): string[] {
    return INTENT_FIELDS.map((field) => this.conferenceExcept(conferenceSid, field));
  }

  /** Hash: call SID -> newest intent version that sets `field` for that participant. */
  participantIntents(conferenceSid: string, field: IntentField): string {
    return areaKey(this.prefix, 'batches', 'intent', conferenceSid, field);
  }

  /** Hash: job id -> `<intent>:<expiresAtMs>` of requests in flight for one participant. */
  inFlight(conferenceSid: string, callSid: string): string {
    return this.inFlightPrefix(conferenceSid) + callSid;
  }

  /** What `inFlight` puts before the call SID, for callers that build many of them. */
  inFlightPrefix(conferenceSid: string): string {
    return `${areaKey(this.prefix, 'batches', 'inflight', conferenceSid)}:`;
  }

  /**
   * Hash: original job key -> the replay taken from the dead-letter queue and not yet known
   * to be enqueued (JSON of its id and payload); see dead-letters/replay.ts.
   */
  replays(): string {
    return areaKey(this.prefix, 'batches', 'replays');
  }

  /** Sorted set: batches that ended and whose event/webhook may still be due, by time. */
  completions(): string {
    return areaKey(this.prefix, 'batches', 'completions');
  }

  /** Hash: API token id -> its record (name, role, spaces, SHA-256 of the secret; never the secret). */
  tokens(): string {
    return areaKey(this.prefix, 'api', 'tokens');
  }

  /** Hash: name of a one-off schedule that ran -> when, and its batch (src/schedules/fired.ts). */
  firedOneOffs(): string {
    return areaKey(this.prefix, 'schedules', 'schedule-fired');
  }

  /** Hash: schedule name -> its last run skipped for being late, and how many were. */
  skippedRuns(): string {
    return areaKey(this.prefix, 'schedules', 'schedule-skips');
  }

  /** Prefix of the dashboard's login-attempt counters (one per client address). */
  loginAttempts(): string {
    return `${areaKey(this.prefix, 'api', 'login-attempts')}:`;
  }

  /** Pub/sub channel of batch events. */
  events(): string {
    return areaKey(this.prefix, 'batches', 'events');
  }
}
