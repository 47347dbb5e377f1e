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
 *
 * Across a failover (Redis Cluster): replication is asynchronous, so a record the primary
 * took and died before passing on would be gone on the promoted replica, and the job's
 * re-run would send again. So on a cluster a taken record is sent only once a replica of
 * its shard holds it (`WAIT 1`, up to REPLICATION_WAIT_MS, on the shard's primary). WAIT
 * blocks the connection it runs on and counts that connection's writes only, so records are
 * taken and waited for on a connection of their own, never the shared one (lock renewals,
 * limiter, circuit). A record no replica acknowledged in time (or whose wait failed) is
 * given back, and for COOL_DOWN_MS every take fails at once without writing: the pipeline
 * waits and tries again, consuming no attempt. A shard without replicas has no failover to
 * lose a record to, so it waits for none.
 */
import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { closeRedis, type RedisConnection } from '../queues.js';
import { silentLogger, type Logger } from '../logger.js';
import { areaKey } from '../keys.js';
import { LuaScript } from './lua/script.js';

/** Records outlive any retry horizon of a job, then vanish without a cleanup job. */
const RECORD_TTL_MS = 7 * 24 * 3600 * 1000;
/** How long a taken record waits for a replica of its shard to hold it. */
export const REPLICATION_WAIT_MS = 1000;
/** How long the replica count of the send records' shard is trusted. */
const REPLICAS_TTL_MS = 5000;
/** After a wait that was not acknowledged, takes fail at once for this long. */
export const COOL_DOWN_MS = 2000;

/** No replica of the send records' shard acknowledged a taken record in time. */
export class SendRecordNotReplicatedError extends Error {
  constructor(jobId: string) {
    super(
      `send record of job ${jobId} not replicated within ${REPLICATION_WAIT_MS} ms: not sent (a failover now could lose the record and send twice); tried again later`,
    );
    this.name = 'SendRecordNotReplicatedError';
  }
}

/**
 * Takes the record unless it exists (a record holding this try's own token is taken: the
 * call was sent again after a connection dropped).
 *   KEYS[1] the job's record; ARGV[1] `sending:<token>`, ARGV[2] TTL (ms)
 * Returns '' when taken, otherwise the record found.
 */
export const takeScript = new LuaScript(
  'send-record-take',
  `
local found = redis.call('GET', KEYS[1])
if found == ARGV[1] then return '' end
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
  readonly #log: Logger;
  /** On a cluster: the connection records are taken and waited for on (see the top). */
  #own: Cluster | undefined;
  /** Replicas of the records' shard as last read (cluster only), and until when. */
  #replicas: { count: number; until: number } | undefined;
  /** Until when takes fail at once (a replica did not acknowledge in time). */
  #coolUntil = 0;

  constructor(redis: RedisConnection, prefix: string, logger: Logger = silentLogger) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#log = logger.child({ component: 'send-records' });
  }

  /**
   * Takes the job's record for one try, or tells what an earlier run left.
   * @throws SendRecordNotReplicatedError when no replica holds it in time (nothing taken).
   */
  async take(jobId: string): Promise<{ ticket: SendTicket } | { earlier: EarlierSend }> {
    const key = sendRecordKey(this.#prefix, jobId);
    const own =
      this.#redis instanceof Cluster ? (this.#own ??= this.#redis.duplicate()) : undefined;
    if (own && Date.now() < this.#coolUntil) throw new SendRecordNotReplicatedError(jobId);
    const value = `sending:${randomBytes(6).toString('hex')}`;
    const found = String(await takeScript.run(own ?? this.#redis, [key], [value, RECORD_TTL_MS]));
    if (found !== '') return { earlier: parseRecord(found) };
    const ticket = { jobId, value };
    if (!own) return { ticket };
    const replicated = await this.#replicated(own, key).catch((err: unknown) => {
      this.#log.debug({ err }, 'waiting for a send record to replicate failed');
      return false;
    });
    if (replicated) return { ticket };
    // Best effort: a record left `sending` makes the job an unsafe-retry dead letter on its
    // next run (never a repeat).
    await this.giveBack(ticket).catch(() => {});
    if (Date.now() >= this.#coolUntil) {
      this.#log.warn(
        { waitMs: REPLICATION_WAIT_MS, coolDownMs: COOL_DOWN_MS },
        'no replica acknowledged a send record in time: announcements wait (a failover now could lose their records)',
      );
    }
    this.#coolUntil = Date.now() + COOL_DOWN_MS;
    throw new SendRecordNotReplicatedError(jobId);
  }

  /** Closes the connection of its own, if one was opened. */
  async close(): Promise<void> {
    const own = this.#own;
    this.#own = undefined;
    if (own) await closeRedis(own);
  }

  /**
   * True once a replica of `key`'s shard holds what its primary holds now (or there is no
   * replica to wait for: a shard without replicas). The keyless ROLE and WAIT go in a
   * pipeline after a command on `key`, so that they run on its primary, on the connection
   * that wrote the record.
   */
  async #replicated(redis: Cluster, key: string): Promise<boolean> {
    if (!this.#replicas || this.#replicas.until < Date.now()) await this.#readReplicas(redis, key);
    if (this.#replicas?.count === 0) return true;
    const replies = await redis.pipeline().pttl(key).wait(1, REPLICATION_WAIT_MS).exec();
    const [err, acked] = replies?.[1] ?? [new Error('no reply to WAIT')];
    if (err) throw err;
    if (Number(acked) >= 1) return true;
    // The shard may have failed over to a primary without replicas since the count was read.
    await this.#readReplicas(redis, key);
    return this.#replicas?.count === 0;
  }

  async #readReplicas(redis: Cluster, key: string): Promise<void> {
    const replies = await redis.pipeline().pttl(key).call('ROLE').exec();
    const [err, role] = replies?.[1] ?? [new Error('no reply to ROLE')];
    if (err) throw err;
    const replicas = (role as unknown[] | undefined)?.[2];
    this.#replicas = {
      count: Array.isArray(replicas) ? replicas.length : 0,
      until: Date.now() + REPLICAS_TTL_MS,
    };
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
