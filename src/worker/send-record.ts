/**
 * Send records: at most once where a repeat is audible. Before a request that is not
 * idempotent (an announcement) leaves, the pipeline takes the job's record in one atomic
 * step (`sending`); a 2xx turns it into `sent` before the outcome is written. A job that
 * comes back for any reason (stalled after a crash, retried after a failure, re-created by
 * a fan-out) and finds the record does not send again: `sent` lets it record the outcome
 * it already had, `sending` makes it a dead letter `unsafe-retry` (the announcement may
 * have played). An answer that proves the request did nothing (refused connection, 4xx,
 * 429, 401/403) gives the record back, so the job may send again.
 *
 * One string per job id (`{<prefix>:sends}:data:send:<jobId>`, src/keys.ts) that expires on its own; a replay
 * of a dead letter runs under a new job id, so an operator's replay is a deliberate send.
 */
import { randomBytes } from 'node:crypto';
import type { RedisConnection } from '../queues.js';
import { areaKey } from '../keys.js';
import { LuaScript } from './lua/script.js';

/** Records outlive any retry horizon of a job, then vanish without a cleanup job. */
const RECORD_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * Takes the record unless it exists.
 *   KEYS[1] the job's record; ARGV[1] `sending:<token>`, ARGV[2] TTL (ms)
 * Returns '' when taken, otherwise the record found.
 */
export const takeScript = new LuaScript(
  'send-record-take',
  `
local found = redis.call('GET', KEYS[1])
if found then return found end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''
`,
  1,
);

/**
 * Replaces the record only while it is the one this try took.
 *   KEYS[1] the job's record; ARGV[1] `sending:<token>`; ARGV[2] new value ('' = delete),
 *   ARGV[3] TTL (ms)
 * Returns 1 when replaced, 0 when the record was not this try's.
 */
export const replaceScript = new LuaScript(
  'send-record-replace',
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`,
  1,
);

/** What an earlier run of the job left: it may have sent (`sending`) or it did (`sent`). */
export type EarlierSend = { state: 'sending' } | { state: 'sent'; status: number };

/** The record one try took, to be settled by its answer. */
export interface SendTicket {
  jobId: string;
  value: string;
}

/** The Redis key of a job's send record. */
export function sendRecordKey(prefix: string, jobId: string): string {
  return areaKey(prefix, 'sends', 'send', jobId);
}

function parseRecord(found: string): EarlierSend {
  if (found.startsWith('sent:')) return { state: 'sent', status: Number(found.slice(5)) || 200 };
  return { state: 'sending' };
}

export class SendRecords {
  readonly #redis: RedisConnection;
  readonly #prefix: string;

  constructor(redis: RedisConnection, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /** Takes the job's record for one try, or tells what an earlier run left. */
  async take(jobId: string): Promise<{ ticket: SendTicket } | { earlier: EarlierSend }> {
    const value = `sending:${randomBytes(6).toString('hex')}`;
    const found = String(
      await takeScript.run(
        this.#redis,
        [sendRecordKey(this.#prefix, jobId)],
        [value, RECORD_TTL_MS],
      ),
    );
    return found === '' ? { ticket: { jobId, value } } : { earlier: parseRecord(found) };
  }

  /** The try got a 2xx: a job that comes back records this outcome without sending. */
  async markSent(ticket: SendTicket, status: number): Promise<void> {
    await this.#replace(ticket, `sent:${String(status)}`);
  }

  /** The try provably did nothing at the API: the job may send again. */
  async giveBack(ticket: SendTicket): Promise<void> {
    await this.#replace(ticket, '');
  }

  async #replace(ticket: SendTicket, next: string): Promise<void> {
    await replaceScript.run(
      this.#redis,
      [sendRecordKey(this.#prefix, ticket.jobId)],
      [ticket.value, next, RECORD_TTL_MS],
    );
  }
}
