/**
 * Where batches, intents and their bookkeeping live in Redis. Every key sits under the configured prefix
 * (a hash tag), so Lua scripts may touch any of them in Redis Cluster too.
 */
import { dataKey } from './queues.js';

/** Fields whose latest intent wins, each with the parameters that travel with it. */
export const INTENT_FIELDS = ['Muted', 'Hold', 'HoldUrl', 'WaitUrl', 'Coaching'] as const;
export type IntentField = (typeof INTENT_FIELDS)[number];

export class ProducerKeys {
  constructor(readonly prefix: string) {}

  /** Hash: one batch. */
  batch(id: string): string {
    return dataKey(this.prefix, 'batch', id);
  }

  /** Prefix of batch hashes, for scripts that derive a batch's key from its id. */
  batchPrefix(): string {
    return `${dataKey(this.prefix, 'batch')}:`;
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

  /** Set: the `except` call SIDs of a batch with a conference-wide intent. */
  except(id: string): string {
    return `${this.batch(id)}:except`;
  }

  /** Sorted set: batch ids by creation time. */
  batchIndex(): string {
    return dataKey(this.prefix, 'batches');
  }

  /** String: idempotency key -> batch id. */
  idempotency(key: string): string {
    return dataKey(this.prefix, 'idempotency', key);
  }

  /** Counter of intent versions. */
  intentCounter(): string {
    return dataKey(this.prefix, 'intent-seq');
  }

  /** Hash: field -> newest conference-wide intent version, and `<field>:b` -> its batch id. */
  conferenceIntents(conferenceSid: string): string {
    return dataKey(this.prefix, 'intent', conferenceSid, 'conference');
  }

  /** Hash: call SID -> newest intent version that sets `field` for that participant. */
  participantIntents(conferenceSid: string, field: IntentField): string {
    return dataKey(this.prefix, 'intent', conferenceSid, field);
  }

  /** Hash: job id -> `<intent>:<expiresAtMs>` of requests in flight for one participant. */
  inFlight(conferenceSid: string, callSid: string): string {
    return this.inFlightPrefix(conferenceSid) + callSid;
  }

  /** What `inFlight` puts before the call SID, for callers that build many of them. */
  inFlightPrefix(conferenceSid: string): string {
    return `${dataKey(this.prefix, 'inflight', conferenceSid)}:`;
  }

  /**
   * Hash: original job key -> the replay taken from the dead-letter queue and not yet known
   * to be enqueued (JSON of its id and payload); see dead-letters/replay.ts.
   */
  replays(): string {
    return dataKey(this.prefix, 'replays');
  }

  /** Sorted set: batches that ended and whose event/webhook may still be due, by time. */
  completions(): string {
    return dataKey(this.prefix, 'completions');
  }

  /** Hash: API token id -> its record (name, role, spaces, SHA-256 of the secret; never the secret). */
  tokens(): string {
    return dataKey(this.prefix, 'tokens');
  }

  /** Hash: schedule name -> its last run skipped for being late, and how many were. */
  skippedRuns(): string {
    return dataKey(this.prefix, 'schedule-skips');
  }

  /** Prefix of the dashboard's login-attempt counters (one per client address). */
  loginAttempts(): string {
    return `${dataKey(this.prefix, 'login-attempts')}:`;
  }

  /** Pub/sub channel of batch events. */
  events(): string {
    return dataKey(this.prefix, 'events');
  }
}
