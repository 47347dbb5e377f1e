/**
 * Latest intent wins. Every batch gets a version when it is created; what it sets is
 * recorded per (conference, participant, field) at fan-out time, and per (conference,
 * field) at creation when it targets the whole conference. Before a job is sent, the
 * fields a newer intent took over are dropped (all dropped = `superseded`, no request),
 * and an in-flight claim per participant keeps a newer request from overtaking an older
 * one still on its way. The pipeline calls `beforeSend` again right before every try, so
 * supersession is decided after any wait (an open circuit, a 429 or 401 pause, quick
 * retries) and the claim is renewed then; a claim lives as long as the job's lock. Announcements and removals carry no intent: never superseded,
 * superseding nothing. The jobs that reach `beforeSend` together are claimed in one Lua
 * call, and a job's claim is released with its outcome (batches/store.ts), so that a job costs
 * a fraction of a round trip rather than three.
 */
import type { RedisConnection } from '../queues.js';
import type { ParticipantJobData } from '../jobs/participant-job.js';
import type { UpdateParticipantParams } from '../signalwire/types.js';
import type { SendDecision } from '../worker/types.js';
import { INTENT_FIELDS, type IntentField, type ProducerKeys } from '../keys.js';
import { CallBatcher } from '../batches/call-batcher.js';
import { claimSendScript } from './lua/intent-scripts.js';
import type { BulkTarget } from '../types.js';

/** The parameters that belong to each intent field. */
const PARAMS_OF: Record<IntentField, readonly (keyof UpdateParticipantParams)[]> = {
  Muted: ['Muted'],
  Hold: ['Hold'],
  HoldUrl: ['HoldUrl', 'HoldMethod'],
  WaitUrl: ['WaitUrl', 'WaitMethod'],
  Coaching: ['Coaching', 'CallSidToCoach'],
};

/** How long intents are remembered; longer than any job can wait in a queue. */
export const INTENT_TTL_MS = 7 * 24 * 3600 * 1000;

/** The intent fields that `params` sets. */
export function intentFieldsOf(params: UpdateParticipantParams): IntentField[] {
  return INTENT_FIELDS.filter((field) =>
    PARAMS_OF[field].some((name) => params[name] !== undefined),
  );
}

/** `'10100'`-style mask of `fields`, in the order of INTENT_FIELDS. */
export function fieldMask(fields: readonly IntentField[]): string {
  return INTENT_FIELDS.map((field) => (fields.includes(field) ? '1' : '0')).join('');
}

/**
 * The fields a batch sets for the whole conference: only when it targets every participant
 * (no explicit list, no filter); its `except` list is kept with the intent.
 */
export function conferenceWideFields(
  op: 'update' | 'remove',
  params: UpdateParticipantParams,
  target: BulkTarget,
): IntentField[] {
  if (op !== 'update' || target.callSids !== undefined || target.filter !== undefined) return [];
  return intentFieldsOf(params);
}

/** `params` without the fields whose mask digit is `0`; `params` itself when all are kept. */
function keepFields(
  params: UpdateParticipantParams,
  mask: string,
  kept: string,
): UpdateParticipantParams {
  if (kept === mask) return params;
  const result: UpdateParticipantParams = { ...params };
  INTENT_FIELDS.forEach((field, i) => {
    if (kept[i] === '1') return;
    for (const name of PARAMS_OF[field]) delete result[name];
  });
  return result;
}

export interface IntentStoreOptions {
  redis: RedisConnection;
  keys: ProducerKeys;
  /**
   * How long an in-flight claim holds when its holder never releases it (a crash). It is
   * renewed right before every try, so it must span one request and its bookkeeping; the
   * worker sets it to the job lock's duration.
   * @defaultValue 30000
   */
  claimTtlMs?: number;
  /** Pause between looks at an older claim that blocks a newer job. @defaultValue 10 */
  pollMs?: number;
}

/** A participant's in-flight claim held by one job: what releases it. */
export interface Claim {
  /** The participant's in-flight hash. */
  key: string;
  /** The job id holding it. */
  holder: string;
}

interface ClaimCall {
  job: ParticipantJobData;
  jobId: string;
  mask: string;
  force: boolean;
}

/** `superseded`, `wait:<ms>` or `send:<mask of the fields still to send>`. */
type ClaimReply = string;

/** The keys shared by every job of one conference (see claimSendScript). */
interface ConferenceKeys {
  conferenceSid: string;
  /**
   * Conference intents, then participant intents of each INTENT_FIELDS entry, then the
   * conference's except sets of each.
   */
  intents: string[];
  inFlightPrefix: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class IntentStore {
  readonly #redis: RedisConnection;
  readonly #keys: ProducerKeys;
  readonly #claimTtlMs: number;
  readonly #pollMs: number;
  /** Claims of the jobs that reach `beforeSend` together share one script call. */
  readonly #claims: CallBatcher<ClaimCall, ClaimReply>;
  /** The last conference's keys: a bulk action's jobs all name the same one. */
  #conference: ConferenceKeys | undefined;

  constructor(options: IntentStoreOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#claimTtlMs = options.claimTtlMs ?? 30_000;
    this.#pollMs = options.pollMs ?? 10;
    this.#claims = new CallBatcher({ send: (calls) => this.#claimBatch(calls) });
  }

  /**
   * Drops the fields a newer intent took over and claims the participant, waiting while an
   * older request for the same participant is in flight.
   */
  async beforeSend(job: ParticipantJobData, jobId: string): Promise<SendDecision> {
    if (job.op === 'remove') return { superseded: false, params: job.params };
    const mask = fieldMask(intentFieldsOf(job.params));
    // An expired claim is ignored by the script, so this bound is only a guard.
    const deadline = Date.now() + this.#claimTtlMs + 1000;
    for (;;) {
      const force = Date.now() > deadline;
      const reply = await this.#claims.run({ job, jobId, mask, force });
      if (reply === 'superseded') return { superseded: true };
      const [kind, value] = [reply.slice(0, 5), reply.slice(5)];
      if (kind === 'send:') {
        return { superseded: false, params: keepFields(job.params, mask, value) };
      }
      if (kind !== 'wait:') throw new TypeError(`unexpected reply of claim-send: '${reply}'`);
      await sleep(Math.max(1, Math.min(this.#pollMs, Number(value))));
    }
  }

  /** Releases the claim taken by `beforeSend`. */
  async afterSend(job: ParticipantJobData, jobId: string): Promise<void> {
    const claim = this.claimOf(job, jobId);
    if (claim) await this.#redis.hdel(claim.key, claim.holder);
  }

  /**
   * The claim `beforeSend` takes for this job (none for a removal), so that it can be
   * released in the same script as the job's outcome.
   */
  claimOf(
    job: Pick<ParticipantJobData, 'op' | 'conferenceSid' | 'callSid'>,
    jobId: string,
  ): Claim | undefined {
    if (job.op === 'remove') return undefined;
    return {
      key: this.#conferenceKeys(job.conferenceSid).inFlightPrefix + job.callSid,
      holder: jobId,
    };
  }

  async #claimBatch(calls: readonly ClaimCall[]): Promise<(ClaimReply | Error)[]> {
    const conferenceKeys: string[] = [];
    const conferences = new Map<string, number>();
    const inFlightKeys: string[] = [];
    const jobArgs: (string | number)[] = [];
    for (const { job, jobId, mask, force } of calls) {
      const keys = this.#conferenceKeys(job.conferenceSid);
      let conference = conferences.get(job.conferenceSid);
      if (conference === undefined) {
        conference = conferences.size + 1;
        conferences.set(job.conferenceSid, conference);
        conferenceKeys.push(...keys.intents);
      }
      inFlightKeys.push(keys.inFlightPrefix + job.callSid);
      jobArgs.push(conference, job.callSid, job.intent, jobId, mask, force ? '1' : '0');
    }
    const replies = await claimSendScript.run(this.#redis, conferenceKeys.concat(inFlightKeys), [
      this.#claimTtlMs,
      conferences.size,
      ...jobArgs,
    ]);
    return replies as (ClaimReply | Error)[];
  }

  #conferenceKeys(conferenceSid: string): ConferenceKeys {
    if (this.#conference?.conferenceSid !== conferenceSid) {
      this.#conference = {
        conferenceSid,
        intents: [
          this.#keys.conferenceIntents(conferenceSid),
          ...INTENT_FIELDS.map((field) => this.#keys.participantIntents(conferenceSid, field)),
          ...this.#keys.conferenceExcepts(conferenceSid),
        ],
        inFlightPrefix: this.#keys.inFlightPrefix(conferenceSid),
      };
    }
    return this.#conference;
  }
}
