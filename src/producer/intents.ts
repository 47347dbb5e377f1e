/**
 * Latest intent wins. Every batch gets a version when it is created; what it sets is
 * recorded per (conference, participant, field) at fan-out time, and per (conference,
 * field) at creation when it targets the whole conference. Before a job is sent, the
 * fields a newer intent took over are dropped (all dropped = `superseded`, no request),
 * and an in-flight claim per participant keeps a newer request from overtaking an older
 * one still on its way. Announcements and removals carry no intent: never superseded,
 * superseding nothing.
 */
import type { Redis } from 'ioredis';
import type { ParticipantJobData } from '../jobs/participant-job.js';
import type { UpdateParticipantParams } from '../signalwire/types.js';
import type { SendDecision } from '../worker/types.js';
import { INTENT_FIELDS, type IntentField, type ProducerKeys } from './keys.js';
import { claimSendScript } from './lua/intent-scripts.js';
import type { BulkTarget } from './types.js';

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

function keepFields(params: UpdateParticipantParams, mask: string): UpdateParticipantParams {
  const kept: UpdateParticipantParams = { ...params };
  INTENT_FIELDS.forEach((field, i) => {
    if (mask[i] === '1') return;
    for (const name of PARAMS_OF[field]) delete kept[name];
  });
  return kept;
}

export interface IntentStoreOptions {
  redis: Redis;
  keys: ProducerKeys;
  /**
   * How long an in-flight claim holds when its holder never releases it (a crash). It
   * spans the wait for a rate-limit permit and the request.
   * @defaultValue 30000
   */
  claimTtlMs?: number;
  /** Pause between looks at an older claim that blocks a newer job. @defaultValue 10 */
  pollMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class IntentStore {
  readonly #redis: Redis;
  readonly #keys: ProducerKeys;
  readonly #claimTtlMs: number;
  readonly #pollMs: number;

  constructor(options: IntentStoreOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#claimTtlMs = options.claimTtlMs ?? 30_000;
    this.#pollMs = options.pollMs ?? 10;
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
      const reply = (await claimSendScript.run(this.#redis, this.#scriptKeys(job), [
        job.callSid,
        job.intent,
        jobId,
        this.#claimTtlMs,
        this.#keys.batchPrefix(),
        mask,
        force ? '1' : '0',
      ])) as [string, string | number | undefined];
      if (reply[0] === 'superseded') return { superseded: true };
      if (reply[0] === 'send') {
        return { superseded: false, params: keepFields(job.params, String(reply[1])) };
      }
      await sleep(Math.max(1, Math.min(this.#pollMs, Number(reply[1]))));
    }
  }

  /** Releases the claim taken by `beforeSend`. */
  async afterSend(job: ParticipantJobData, jobId: string): Promise<void> {
    if (job.op === 'remove') return;
    await this.#redis.hdel(this.#keys.inFlight(job.conferenceSid, job.callSid), jobId);
  }

  #scriptKeys(job: ParticipantJobData): string[] {
    return [
      this.#keys.conferenceIntents(job.conferenceSid),
      this.#keys.inFlight(job.conferenceSid, job.callSid),
      ...INTENT_FIELDS.map((field) => this.#keys.participantIntents(job.conferenceSid, field)),
    ];
  }
}
