/**
 * A chunk job: the updates of up to `CONFBULK_UPDATES_PER_JOB` participants of one batch in
 * one BullMQ job, so that BullMQ's own cost per job (fetch, lock, completion: about 27
 * Redis commands) is paid once per chunk instead of once per participant.
 *
 * A chunk is only a carrier. Every participant in it keeps its own identity: its
 * participant job id (`participantJobId(batchId, callSid)`) stays the key of its outcome in
 * the batch, of its send record (announcements), its in-flight claim, its attempt history
 * and its dead letter, exactly as if it had a job of its own. `membersOf` turns a chunk into
 * those per-participant payloads, and the worker runs each through the participant
 * pipeline (src/worker/chunk.ts).
 *
 * The chunk's id is derived from its batch and the call SIDs it was built from, so a
 * fan-out that runs again after a crash and lists the same participants adds the same
 * chunks again, which BullMQ ignores. Participants whose outcome the batch already recorded
 * are left out of the payload (not out of the id); a chunk left with nobody is not added.
 */
import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { MAX_UPDATES_PER_JOB } from '../config.js';
import { participantJobId, type ParticipantJobData } from './participant-job.js';

export { MAX_UPDATES_PER_JOB };

/** BullMQ job name of a chunk. */
export const CHUNK_JOB_NAME = 'chunk';

/** The payload of a chunk: what its participants share, and their call SIDs. */
export type ChunkJobData = Omit<ParticipantJobData, 'callSid' | 'replayOf'> & {
  callSids: string[];
};

/** A chunk job to add, with its deterministic id. */
export interface ChunkToAdd {
  name: string;
  data: ChunkJobData | ParticipantJobData;
  opts: JobsOptions;
}

/** One participant of a chunk: its own payload and job id. */
export interface ChunkMember {
  jobId: string;
  data: ParticipantJobData;
}

/** Whether a dequeued payload is a chunk (anything else is a single participant's job). */
export function isChunkJob(data: unknown): data is { callSids: unknown } {
  return typeof data === 'object' && data !== null && 'callSids' in data;
}

/**
 * The participants of a chunk payload read back from the queue. Each member's payload is
 * validated by the pipeline like any participant job, so this only takes the chunk apart.
 * @throws TypeError when the payload is no chunk at all (no list of call SIDs).
 */
export function membersOf(raw: unknown): ChunkMember[] {
  if (!isChunkJob(raw) || !Array.isArray(raw.callSids) || raw.callSids.length === 0) {
    throw new TypeError('chunk job payload: callSids must be a non-empty list of call SIDs');
  }
  if (raw.callSids.length > MAX_UPDATES_PER_JOB) {
    throw new TypeError(
      `chunk job payload: callSids holds ${raw.callSids.length} participants; at most ${MAX_UPDATES_PER_JOB}`,
    );
  }
  const { callSids, ...shared } = raw as ChunkJobData;
  const batchId = String(shared.batchId);
  return callSids.map((callSid) => ({
    jobId: participantJobId(batchId, String(callSid)),
    data: { ...shared, callSid } as ParticipantJobData,
  }));
}

/** `<batch id>.k<first call SID>.<16 hex of a hash of every call SID>`. */
export function chunkJobId(batchId: string, callSids: readonly string[]): string {
  const digest = createHash('sha256').update(callSids.join(',')).digest('hex').slice(0, 16);
  return `${batchId}.k${callSids[0] ?? ''}.${digest}`;
}

/** Whether two participant jobs can share a chunk: same batch and the same request. */
function sameRequest(a: ParticipantJobData, b: ParticipantJobData): boolean {
  return (
    a.batchId === b.batchId &&
    a.space === b.space &&
    a.conferenceSid === b.conferenceSid &&
    a.op === b.op &&
    a.intent === b.intent &&
    a.replayOf === undefined &&
    b.replayOf === undefined &&
    JSON.stringify(a.params) === JSON.stringify(b.params)
  );
}

/**
 * Groups validated participant jobs into chunks of up to `perJob` consecutive jobs of the
 * same request. A group of one is added as a plain participant job (id `participantJobId`),
 * as are all of them with `perJob` 1. Members in `ended` (participant job ids whose outcome
 * is recorded) are left out of the payloads.
 */
export function buildChunks(
  jobs: readonly ParticipantJobData[],
  perJob: number,
  ended: ReadonlySet<string> = new Set(),
): ChunkToAdd[] {
  const groups: ParticipantJobData[][] = [];
  for (const job of jobs) {
    const group = groups[groups.length - 1];
    const head = group?.[0];
    if (group && head && group.length < perJob && sameRequest(head, job)) group.push(job);
    else groups.push([job]);
  }
  const out: ChunkToAdd[] = [];
  for (const group of groups) {
    const pending = group.filter((j) => !ended.has(participantJobId(j.batchId, j.callSid)));
    const [first] = pending;
    if (!first) continue;
    if (group.length === 1) {
      out.push({
        name: first.op,
        data: first,
        opts: { jobId: participantJobId(first.batchId, first.callSid) },
      });
      continue;
    }
    const { callSid: _callSid, replayOf: _replayOf, ...shared } = first;
    out.push({
      name: CHUNK_JOB_NAME,
      data: { ...shared, callSids: pending.map((j) => j.callSid) },
      opts: {
        jobId: chunkJobId(
          first.batchId,
          group.map((j) => j.callSid),
        ),
      },
    });
  }
  return out;
}
