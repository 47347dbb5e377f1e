/**
 * Replaying a dead letter enqueues one job, however many replays of the entry run at once
 * and wherever one of them crashes.
 *
 * The commit point is one Lua script (take-dead-letter) on keys of the prefix's hash slot:
 * it takes the entry out of the dead-letter queue, fixes the replay job's id
 * (`<original job id>.r<n>`), records the job in the replays hash (an outbox) and makes the
 * participant pending again in its batch. Of concurrent replays of an entry exactly one gets
 * past it. The job is then added to its space's updates queue under that id and the outbox
 * record dropped.
 *
 * BullMQ's own add cannot be part of that script or of a MULTI with it: in Redis Cluster an
 * updates queue may sit in a hash slot of its own, and neither can span slots. The outbox
 * closes the gap instead: a crash after the take leaves the record, and the next replay call
 * or a worker's sweep enqueues it under the same id (BullMQ adds a job id once). It does so
 * only while the batch still shows that replay pending, so a replay that already ended is not
 * sent again once its job has been trimmed from the completed set. (A repeat would need the
 * job to end and be trimmed between the sweep's read of the batch and its add.)
 */
import type { Queue } from 'bullmq';
import type { RedisConnection } from '../queues.js';
import { ValidationError } from '../errors.js';
import type { ParticipantQueues } from '../jobs/enqueue.js';
import { canonicalSid, type ParticipantJobData } from '../jobs/participant-job.js';
import { ProducerKeys } from '../keys.js';
import { forgetReplayScript, takeDeadLetterScript } from './replay-scripts.js';
import type { DeadLetterEntry } from './types.js';

/**
 * A dead-letter id is a participant job id: `<batch id>.<call SID>`, and `.r<n>` for the
 * n-th replay. Ids given as input must have this form before anything is asked of Redis, so
 * that a name such as `meta` never reaches BullMQ's own keys.
 */
export const DEAD_LETTER_ID_PATTERN =
  /^[A-Za-z0-9_.-]{1,64}\.(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Z]{2}[0-9a-f]{32})(?:\.r[1-9][0-9]{0,5})?$/i;

const SID_AND_REPLAY = /\.([^.]+)((?:\.r[0-9]+)?)$/;

/**
 * Checks a dead-letter id given as input and returns it with its SID in canonical case.
 * @throws ValidationError naming `field` and the form an id has.
 */
export function checkDeadLetterId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || !DEAD_LETTER_ID_PATTERN.test(id)) {
    const shown = typeof id === 'string' ? `'${id.slice(0, 100)}'` : typeof id;
    throw new ValidationError(
      `${field}: ${shown} is not a dead-letter id; an id looks like <batch id>.<call SID>, with .r<n> for a replay (as dlq list shows)`,
      field,
    );
  }
  return id.replace(
    SID_AND_REPLAY,
    (_, sid: string, replay: string) => `.${canonicalSid(sid)}${replay}`,
  );
}

/** The job key a batch counts the entry's participant under: the first job's id. */
export function originalJobKey(entry: DeadLetterEntry): string {
  return entry.job.replayOf ?? entry.jobId;
}

/** What the outbox holds for a taken dead letter: `<replay job id> <JSON of this>`. */
interface ReplayRecord {
  job: ParticipantJobData;
  /** Milliseconds since the epoch. */
  takenAt: number;
}

function parseRecord(text: string): (ReplayRecord & { id: string }) | undefined {
  const space = text.indexOf(' ');
  try {
    const record = JSON.parse(text.slice(space + 1)) as Partial<ReplayRecord>;
    return space > 0 && record.job && typeof record.takenAt === 'number'
      ? { id: text.slice(0, space), job: record.job, takenAt: record.takenAt }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Replay counters outlive the batch's outcomes. @defaultValue 30 days */
const COUNTER_TTL_MS = 30 * 24 * 3600 * 1000;

export class Replays {
  readonly #redis: RedisConnection;
  readonly #keys: ProducerKeys;
  readonly #deadLetters: Queue;
  readonly #queues: ParticipantQueues;

  constructor(
    redis: RedisConnection,
    prefix: string,
    deadLetters: Queue,
    queues: ParticipantQueues,
  ) {
    this.#redis = redis;
    this.#keys = new ProducerKeys(prefix);
    this.#deadLetters = deadLetters;
    this.#queues = queues;
  }

  /**
   * Takes `entry` and enqueues `job` (its replay).
   * @returns the job's id, or undefined when another replay took the entry first.
   */
  async replay(entry: DeadLetterEntry, job: ParticipantJobData): Promise<string | undefined> {
    const key = originalJobKey(entry);
    const entryKey = this.#deadLetters.toKey(entry.id);
    const reply = await takeDeadLetterScript.run(
      this.#redis,
      [
        this.#deadLetters.keys.wait ?? '',
        this.#deadLetters.keys.paused ?? '',
        entryKey,
        `${entryKey}:logs`,
        this.#keys.batch(job.batchId),
        this.#keys.outcomes(job.batchId),
        this.#keys.replayCounters(job.batchId),
        this.#keys.replays(),
      ],
      [
        entry.id,
        key,
        JSON.stringify({ job, takenAt: Date.now() } satisfies ReplayRecord),
        COUNTER_TTL_MS,
      ],
    );
    if (typeof reply !== 'string') return undefined;
    const id = reply.slice(0, reply.indexOf(' '));
    await this.#enqueue(key, reply, id, job);
    return id;
  }

  /**
   * Enqueues the replays whose process stopped between taking and enqueueing them, taken
   * more than `olderThanMs` ago.
   * @returns how many records were settled (enqueued, or dropped because the replay ended).
   */
  async finishPending(olderThanMs = 0): Promise<number> {
    const records = await this.#redis.hgetall(this.#keys.replays());
    let settled = 0;
    for (const [key, text] of Object.entries(records)) {
      const record = parseRecord(text);
      if (!record) {
        await forgetReplayScript.run(this.#redis, [this.#keys.replays()], [key, text]);
        continue;
      }
      if (record.takenAt > Date.now() - olderThanMs) continue;
      if (await this.#stillPending(key, record)) {
        await this.#enqueue(key, text, record.id, record.job);
      } else {
        await forgetReplayScript.run(this.#redis, [this.#keys.replays()], [key, text]);
      }
      settled++;
    }
    return settled;
  }

  /** True unless the batch shows this replay ended (a batch that expired shows nothing). */
  async #stillPending(key: string, record: ReplayRecord & { id: string }): Promise<boolean> {
    const [[, exists], [, outcome]] = ((await this.#redis
      .multi()
      .exists(this.#keys.batch(record.job.batchId))
      .hget(this.#keys.outcomes(record.job.batchId), key)
      .exec()) ?? [[], []]) as [[unknown, unknown], [unknown, unknown]];
    return Number(exists) !== 1 || outcome === `replaying:${record.id}`;
  }

  async #enqueue(key: string, record: string, id: string, job: ParticipantJobData): Promise<void> {
    await this.#queues.addReplayJob(job, id);
    await forgetReplayScript.run(this.#redis, [this.#keys.replays()], [key, record]);
  }
}
