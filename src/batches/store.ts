/**
 * Batches in Redis: one hash per batch, counts changed only by Lua so that every job's
 * outcome counts exactly once however often a crash or a retry reports it, and the state
 * moving `listing` -> `running` -> `completed` (or `failed` when listing fails).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RedisConnection } from '../queues.js';
import { participantJobId } from '../jobs/participant-job.js';
import type { JobOutcome } from '../worker/types.js';
import { CallBatcher } from './call-batcher.js';
import { conferenceWideFields, fieldMask, INTENT_TTL_MS, type Claim } from '../intents/intents.js';
import { INTENT_FIELDS, type IntentField, type ProducerKeys } from '../keys.js';
import {
  addMembersScript,
  claimCompletionsScript,
  createBatchScript,
  failBatchScript,
  finishListingScript,
  recordConferenceIntentScript,
  recordOutcomesScript,
} from './lua/batch-scripts.js';
import type { ValidatedRequest } from '../bulk-actions/request-schema.js';
import type { Batch, BatchState, BulkActionName } from '../types.js';

export interface BatchStoreOptions {
  redis: RedisConnection;
  keys: ProducerKeys;
  /** How long an ended batch stays readable. @defaultValue 7 days */
  retentionMs?: number;
  /** How long an idempotency key returns its batch. @defaultValue 24 hours */
  idempotencyTtlMs?: number;
}

export interface CreatedBatch {
  batch: Batch;
  /** False when the idempotency key named an existing batch. */
  created: boolean;
  /**
   * With `created: false`: whether the existing batch was made by the same request (false:
   * the key was reused for another one). Batches from before fingerprints count as same.
   */
  sameRequest?: boolean;
}

export interface OutcomeRecord {
  /** False when this job's outcome was already recorded (or the batch is unknown). */
  recorded: boolean;
  /** True when this outcome completed the batch. */
  completed: boolean;
  /** True when no such batch exists (expired or never created). */
  unknownBatch: boolean;
}

const DAY_MS = 24 * 3600 * 1000;

/** How long a batch's outcomes hash lives from its first outcome (its end shortens it). */
const OUTCOMES_TTL_MS = 30 * DAY_MS;

interface OutcomeCall {
  batchId: string;
  key: string;
  outcome: JobOutcome;
  release: Claim | undefined;
}

/** `b_<time base36><random hex>`: sorts by creation time, no `:` (it is part of job ids). */
export function newBatchId(now = Date.now()): string {
  return `b_${now.toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
}

/** JSON with object keys sorted, so that equal requests give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * SHA-256 of what a request asks for (everything but its idempotency key), stored on its
 * batch so that the key reused with another request is told apart from a retry.
 */
export function requestFingerprint(req: ValidatedRequest): string {
  const { action, space, target, params, op, webhookUrl } = req;
  return createHash('sha256')
    .update(canonicalJson({ action, space, target, params, op, webhookUrl }))
    .digest('hex');
}

function hashFields(
  id: string,
  req: ValidatedRequest,
  createdAt: string,
  schedule?: string,
): string[] {
  const fields: Record<string, string | undefined> = {
    id,
    action: req.action,
    space: req.space,
    target: JSON.stringify(req.target),
    params: JSON.stringify(req.params),
    op: req.op,
    state: 'listing',
    total: '0',
    terminal: '0',
    succeeded: '0',
    gone: '0',
    superseded: '0',
    deadLettered: '0',
    createdAt,
    conferenceSid: req.target.conferenceSid,
    idempotencyKey: req.idempotencyKey,
    webhookUrl: req.webhookUrl,
    schedule,
    requestHash: req.idempotencyKey === undefined ? undefined : requestFingerprint(req),
  };
  return Object.entries(fields).flatMap(([k, v]) => (v === undefined ? [] : [k, v]));
}

/** What record-outcomes answered for one job (see recordOutcomesScript). */
function outcomeRecord(reply: unknown): OutcomeRecord {
  const status = Number(reply);
  return { recorded: status >= 1, completed: status === 2, unknownBatch: status === -1 };
}

/** Reads a batch hash; undefined when it holds no batch. */
export function parseBatch(hash: Record<string, string>): Batch | undefined {
  if (!hash.id || !hash.state) return undefined;
  const n = (field: string): number => Number(hash[field] ?? 0);
  const total = n('total');
  const batch: Batch = {
    id: hash.id,
    action: hash.action as BulkActionName,
    space: hash.space ?? 'default',
    target: JSON.parse(hash.target ?? '{}') as Batch['target'],
    params: JSON.parse(hash.params ?? '{}') as Batch['params'],
    op: hash.op === 'remove' ? 'remove' : 'update',
    intent: n('intent'),
    state: hash.state as BatchState,
    counts: {
      total,
      succeeded: n('succeeded'),
      gone: n('gone'),
      superseded: n('superseded'),
      deadLettered: n('deadLettered'),
      pending: Math.max(0, total - n('terminal')),
    },
    createdAt: hash.createdAt ?? '',
  };
  for (const key of [
    'startedAt',
    'finishedAt',
    'error',
    'idempotencyKey',
    'webhookUrl',
    'schedule',
    'conferenceSid',
  ] as const) {
    if (hash[key] !== undefined) batch[key] = hash[key];
  }
  return batch;
}

/** A running batch's members are kept this long after its listing, for repairs (repair.ts). */
export const MEMBERS_TTL_MS = 24 * 3600 * 1000;

export class BatchStore {
  readonly #redis: RedisConnection;
  readonly #keys: ProducerKeys;
  readonly retentionMs: number;
  readonly #idempotencyTtlMs: number;
  /** Outcomes of the jobs that end together share one script call. */
  readonly #outcomes: CallBatcher<OutcomeCall, OutcomeRecord>;

  constructor(options: BatchStoreOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.retentionMs = options.retentionMs ?? 7 * DAY_MS;
    this.#idempotencyTtlMs = options.idempotencyTtlMs ?? DAY_MS;
    this.#outcomes = new CallBatcher({ send: (calls) => this.#recordOutcomes(calls) });
  }

  /**
   * Creates a batch in state `listing`, with its intent version and, when it targets the
   * whole conference, its conference-wide intent; or returns the batch its idempotency
   * key already names.
   */
  async create(req: ValidatedRequest, extra: { schedule?: string } = {}): Promise<CreatedBatch> {
    const now = Date.now();
    const id = newBatchId(now);
    const conferenceSid = req.target.conferenceSid;
    const wide = conferenceSid ? conferenceWideFields(req.op, req.params, req.target) : [];
    const except = wide.length ? (req.target.except ?? []) : [];
    const idempotencyKey = this.#keys.idempotency(req.idempotencyKey ?? '');
    let reply: [number, string?, number?];
    do {
      // The batch the idempotency key names is a key of the script, so it is read first;
      // the script answers -1 when the key changed meanwhile.
      const named = req.idempotencyKey ? ((await this.#redis.get(idempotencyKey)) ?? '') : '';
      reply = (await createBatchScript.run(
        this.#redis,
        [
          this.#keys.batch(id),
          this.#keys.intentCounter(),
          this.#keys.batchIndex(),
          idempotencyKey,
          this.#keys.conferenceIntents(conferenceSid ?? '-'),
          this.#keys.batch(named || id),
          ...this.#keys.conferenceExcepts(conferenceSid ?? '-'),
        ],
        [
          id,
          now,
          req.idempotencyKey ? this.#idempotencyTtlMs : 0,
          this.retentionMs,
          named,
          Math.max(INTENT_TTL_MS, this.retentionMs),
          wide.join(','),
          except.length,
          ...except,
          ...hashFields(id, req, new Date(now).toISOString(), extra.schedule),
        ],
      )) as [number, string?, number?];
    } while (Number(reply[0]) === -1);
    const batch = await this.get(String(reply[1]));
    if (!batch) throw new Error(`batch ${String(reply[1])} vanished right after it was created`);
    if (Number(reply[0]) === 1) return { batch, created: true };
    const stored = await this.#redis.hget(this.#keys.batch(batch.id), 'requestHash');
    return { batch, created: false, sameRequest: !stored || stored === requestFingerprint(req) };
  }

  async get(id: string): Promise<Batch | undefined> {
    if (!id || id.includes(':')) return undefined;
    return parseBatch(await this.#redis.hgetall(this.#keys.batch(id)));
  }

  /** Call SIDs of a batch's members with no outcome recorded (src/batches/repair.ts). */
  async pendingMembers(id: string): Promise<string[]> {
    const [members, outcomes] = await Promise.all([
      this.#redis.smembers(this.#keys.members(id)),
      this.#redis.hkeys(this.#keys.outcomes(id)),
    ]);
    const ended = new Set(outcomes);
    return members.filter((callSid) => !ended.has(participantJobId(id, callSid)));
  }

  /** The newest batches first. */
  async list(limit = 50): Promise<Batch[]> {
    const ids = await this.#redis.zrevrange(this.#keys.batchIndex(), 0, Math.max(0, limit - 1));
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.#keys.batch(id));
    const replies = (await pipeline.exec()) ?? [];
    return replies.flatMap(([err, hash]) => {
      const batch = err ? undefined : parseBatch(hash as Record<string, string>);
      return batch ? [batch] : [];
    });
  }

  /** Notes the fan-out's start and the conference it resolved. */
  async markStarted(id: string, conferenceSid: string): Promise<void> {
    const now = new Date().toISOString();
    await this.#redis
      .multi()
      .hsetnx(this.#keys.batch(id), 'startedAt', now)
      .hset(this.#keys.batch(id), 'conferenceSid', conferenceSid)
      .exec();
  }

  /** Records the conference-wide intent of a batch whose conference was named, once resolved. */
  async recordConferenceIntent(batch: Batch, conferenceSid: string): Promise<void> {
    const fields = conferenceWideFields(batch.op, batch.params, batch.target);
    if (fields.length === 0) return;
    await recordConferenceIntentScript.run(
      this.#redis,
      [
        this.#keys.batch(batch.id),
        this.#keys.conferenceIntents(conferenceSid),
        ...this.#keys.conferenceExcepts(conferenceSid),
      ],
      [
        batch.id,
        Math.max(INTENT_TTL_MS, this.retentionMs),
        fields.join(','),
        ...(batch.target.except ?? []),
      ],
    );
  }

  /**
   * Adds participants to a listing batch after recording their intents.
   * @returns the total so far, or -1 when the batch is no longer listing.
   */
  async addMembers(
    batch: Batch,
    conferenceSid: string,
    fields: readonly IntentField[],
    callSids: readonly string[],
  ): Promise<number> {
    if (callSids.length === 0) return batch.counts.total;
    const reply = await addMembersScript.run(
      this.#redis,
      [
        this.#keys.batch(batch.id),
        this.#keys.members(batch.id),
        ...INTENT_FIELDS.map((field) => this.#keys.participantIntents(conferenceSid, field)),
      ],
      [batch.intent, fieldMask(fields), Math.max(INTENT_TTL_MS, this.retentionMs), ...callSids],
    );
    return Number(reply);
  }

  /** Ends the listing. `completed` when no job was left pending. */
  async finishListing(id: string): Promise<{ finished: boolean; completed: boolean }> {
    const now = Date.now();
    const reply = (await finishListingScript.run(
      this.#redis,
      [
        this.#keys.batch(id),
        this.#keys.members(id),
        this.#keys.completions(),
        this.#keys.outcomes(id),
      ],
      [id, new Date(now).toISOString(), now, this.retentionMs, MEMBERS_TTL_MS],
    )) as [number, number | string];
    return {
      finished: Number(reply[0]) === 1,
      completed: Number(reply[0]) === 1 && Number(reply[1]) === 1,
    };
  }

  /** Fails a batch that has not ended. @returns false when it had already ended. */
  async fail(batch: Batch, reason: string): Promise<boolean> {
    const now = Date.now();
    const conferenceSid = batch.conferenceSid ?? batch.target.conferenceSid ?? '-';
    const fields = conferenceWideFields(batch.op, batch.params, batch.target);
    const reply = await failBatchScript.run(
      this.#redis,
      [
        this.#keys.batch(batch.id),
        this.#keys.completions(),
        this.#keys.conferenceIntents(conferenceSid),
        this.#keys.members(batch.id),
        ...this.#keys.conferenceExcepts(conferenceSid),
      ],
      [batch.id, reason, new Date(now).toISOString(), now, this.retentionMs, ...fields],
    );
    return Number(reply) === 1;
  }

  /**
   * Records a job's terminal outcome once per `key` (`job.replayOf ?? jobId`); a replay may
   * turn a dead letter into another outcome. `release` is the job's in-flight claim, let go
   * in the same step. Outcomes recorded together share one script call.
   */
  recordOutcome(
    batchId: string,
    key: string,
    outcome: JobOutcome,
    options: { release?: Claim } = {},
  ): Promise<OutcomeRecord> {
    return this.#outcomes.run({ batchId, key, outcome, release: options.release });
  }

  async #recordOutcomes(calls: readonly OutcomeCall[]): Promise<(OutcomeRecord | Error)[]> {
    const now = Date.now();
    const batchKeys: string[] = [];
    const claimKeys: string[] = [];
    const batchIds: string[] = [];
    /** Batch id -> its number in the script (1..B). */
    const numbers = new Map<string, number>();
    const jobArgs: (string | number)[] = [];
    for (const { batchId, key, outcome, release } of calls) {
      let batch = numbers.get(batchId);
      if (batch === undefined) {
        batch = numbers.size + 1;
        numbers.set(batchId, batch);
        batchIds.push(batchId);
        batchKeys.push(this.#keys.batch(batchId), this.#keys.outcomes(batchId));
      }
      if (release) claimKeys.push(release.key);
      jobArgs.push(batch, key, outcome, release?.holder ?? '');
    }
    const replies = await recordOutcomesScript.run(
      this.#redis,
      [this.#keys.completions(), ...batchKeys, ...claimKeys],
      [
        new Date(now).toISOString(),
        now,
        this.retentionMs,
        OUTCOMES_TTL_MS,
        batchIds.length,
        ...batchIds,
        ...jobArgs,
      ],
    );
    return replies.map((reply) => (reply instanceof Error ? reply : outcomeRecord(reply)));
  }

  /** Leases ended batches whose notification is overdue by `overdueMs`. */
  async claimOverdueCompletions(overdueMs: number, limit = 100): Promise<string[]> {
    const now = Date.now();
    return (await claimCompletionsScript.run(
      this.#redis,
      [this.#keys.completions()],
      [now - overdueMs, now, limit],
    )) as string[];
  }

  /**
   * Which of `keys` (job keys, `participantJobId(batchId, callSid)`) already have an outcome
   * in the batch: a fan-out re-run must not create them again, since their jobs may have
   * been trimmed from the completed set. A key whose dead letter is being replayed counts
   * as having one (its replay job carries it).
   */
  async withOutcome(batchId: string, keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const found = await this.#redis.hmget(this.#keys.outcomes(batchId), ...keys);
    return new Set(keys.filter((_, i) => found[i] !== null));
  }

  /** The batch's event and webhook are taken care of. */
  async acknowledgeCompletion(id: string): Promise<void> {
    await this.#redis.zrem(this.#keys.completions(), id);
  }
}
